"""A small stand-alone word-crop renderer (PIL + the synthetic engine's font split).

The recognizer trains on `models.synth.crops.render_word_crop` when it is importable; this module is the
fallback used before it existed, and the only source of "other"-script crops (Han, kana, Cyrillic,
Greek: scripts we flag instead of reading) for the script identifier. Everything is driven by the
`numpy.random.Generator` passed in.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from models.synth.charset import HANGUL_KSX1001

COMMON_KO = ("주식회사 대표이사 서울특별시 부산광역시 합계 금액 부가세 영수증 날짜 전화 주소 성명 생년월일 계좌번호 "
             "은행 청구서 거래명세서 공급가액 세액 수량 단가 품목 비고 사업자등록번호 담당자 확인 승인 신청서 "
             "계약서 주민등록번호 발행일 납부 기한 총액 카드 현금 결제 고객 번호 회사 부서 직위 서명 년 월 일 "
             "원 개 시 구 동 로 길 번지 층 호 주민 센터 보험 의료 진료비 병원 약국 학교 대학교 교육 과정 "
             "이름 나이 성별 남 여 연락처 이메일 휴대폰 팩스 우편번호 경기도 강남구 중구 세금 계산서 합니다 "
             "입니다 있습니다 하였습니다 그리고 또는 및 등 위 아래 다음 내용 사항 기타 정보 개인 동의").split()
OTHER_TEXT = ("北京 東京 中華 日本 會社 株式 大學 電話 地址 金額 合計 領收 "
              "ひらがな カタカナ です ます こんにちは トウキョウ "
              "Москва привет банк счёт Итого Дата Адрес "
              "Αθήνα λόγος ευρώ ΣΥΝΟΛΟ Ημερομηνία").split()
# (CJK font, fallback alphabet font) per split: sans for training, serif held out; Cyrillic and Greek normally
# come from every face of the split that has them (_alphabet_fonts)
OTHER_FONTS = {"train": ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                         "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
               "eval": ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
                        "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")}
FOREIGN_RANGES = ((0x4E00, 0x9FA5), (0x3041, 0x3096), (0x30A1, 0x30FA), (0x0410, 0x044F), (0x0391, 0x03C9))


@dataclass(frozen=True)
class RenderedCrop:
    image: np.ndarray     # uint8 gray (height, w)
    text: str
    script: str
    font: str


def _latin_word(rng: np.random.Generator) -> str:
    fake = _faker()
    kind = rng.integers(6)
    word = [fake.word, fake.last_name, fake.first_name, fake.city, fake.company, fake.email][kind]()
    word = word.split()[0] if kind != 5 else word
    case = rng.random()
    if case < 0.2:
        word = word.upper()
    elif case < 0.5:
        word = word.capitalize()
    if rng.random() < 0.15:
        word += str(rng.choice(list(".,:;)")))
    return word


@functools.lru_cache(maxsize=1)
def _faker():
    from faker import Faker   # imported lazily: faker is slow to import
    f = Faker("en_US")
    f.seed_instance(1234)
    return f


def _hangul_word(rng: np.random.Generator) -> str:
    r = rng.random()
    if r < 0.45:
        word = str(rng.choice(COMMON_KO))
    else:
        n = int(rng.integers(1, 5))
        word = "".join(HANGUL_KSX1001[i] for i in rng.integers(0, len(HANGUL_KSX1001), n))
    if rng.random() < 0.12:
        word = str(rng.integers(1, 2030)) + word
    if rng.random() < 0.08:
        word = "(" + word + ")" if rng.random() < 0.5 else word + str(rng.choice(list(".,:")))
    return word


def _digits_word(rng: np.random.Generator) -> str:
    k = rng.integers(8)
    if k == 0:
        return f"{rng.integers(1990, 2031)}-{rng.integers(1, 13):02d}-{rng.integers(1, 32):02d}"
    if k == 1:
        return f"{rng.integers(0, 10**rng.integers(2, 8)):,}"
    if k == 2:
        return "₩" + f"{rng.integers(100, 10**7):,}"
    if k == 3:
        return f"{rng.integers(0, 101)}%"
    if k == 4:
        return f"0{rng.integers(2, 70)}-{rng.integers(100, 10000)}-{rng.integers(1000, 10000)}"
    if k == 5:
        return f"({rng.integers(1, 100)})"
    if k == 6:
        return f"{rng.integers(0, 1000)}.{rng.integers(0, 100):02d}"
    return str(rng.integers(0, 10 ** rng.integers(1, 9)))


def random_text(rng: np.random.Generator, script: str) -> str:
    if script == "hangul":
        return _hangul_word(rng)
    if script == "latin":
        return _latin_word(rng)
    if script == "digits":
        return _digits_word(rng)
    if script == "other":        # a foreign script: a real word, or random letters of one script
        if rng.random() < 0.3:
            return str(rng.choice(OTHER_TEXT))
        lo, hi = FOREIGN_RANGES[int(rng.integers(len(FOREIGN_RANGES)))]
        return "".join(chr(int(c)) for c in rng.integers(lo, hi + 1, int(rng.integers(1, 7)))).replace("\u03a2", "Σ")
    raise ValueError(f"unknown script {script!r}")


def draw_text(text: str, font: ImageFont.FreeTypeFont, rng: np.random.Generator) -> np.ndarray:
    """Dark text on light paper (uint8 gray). Vertically the crop is either tight to the ink or spans the
    font's cap-to-descender band (as word boxes of scans and of detectors do), plus a small random margin."""
    x0, y0, x1, y1 = font.getbbox(text)
    pad = 8
    w, h = (x1 - x0) + 2 * pad, (y1 - min(y0, 0)) + 2 * pad
    paper, ink = int(rng.integers(200, 256)), int(rng.integers(0, 90))
    img = Image.new("L", (w, h), paper)
    ImageDraw.Draw(img).text((pad - x0, pad - min(y0, 0)), text, font=font, fill=ink)
    a = np.asarray(img)
    dark = a < (paper + ink) / 2
    rows, cols = np.nonzero(dark.any(1))[0], np.nonzero(dark.any(0))[0]
    if rows.size == 0:
        return a
    top, bottom = rows[0], rows[-1] + 1
    if rng.random() < 0.5:                      # band of the font: reference glyphs with caps and descenders
        _, ry0, _, ry1 = font.getbbox("Hgy" + text)
        top, bottom = min(top, pad - min(y0, 0) + ry0), max(bottom, pad - min(y0, 0) + ry1)
    band = bottom - top
    top -= int(rng.integers(0, max(1, int(0.15 * band)) + 1))
    bottom += int(rng.integers(0, max(1, int(0.15 * band)) + 1))
    left, right = cols[0] - int(rng.integers(0, 5)), cols[-1] + 1 + int(rng.integers(0, 5))
    return a[max(0, top): min(h, bottom), max(0, left): min(w, right)]


def degrade(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scan-like degradations: resolution loss, blur, slight shear, noise, JPEG."""
    h, w = gray.shape
    if rng.random() < 0.5:
        s = rng.uniform(0.4, 0.9)
        small = cv2.resize(gray, (max(1, int(w * s)), max(2, int(h * s))), interpolation=cv2.INTER_AREA)
        gray = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.3:
        gray = cv2.GaussianBlur(gray, (3, 3), rng.uniform(0.3, 1.0))
    if rng.random() < 0.3:
        sh = rng.uniform(-0.15, 0.15)
        m = np.float32([[1, sh, -sh * h / 2], [0, 1, 0]])
        gray = cv2.warpAffine(gray, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    if rng.random() < 0.5:
        noise = rng.normal(0, rng.uniform(2, 12), gray.shape)
        gray = np.clip(gray.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        ok, buf = cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 90))])
        gray = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return gray


@functools.lru_cache(maxsize=64)
def _truetype(path: str, size: int) -> ImageFont.FreeTypeFont:
    index = 1 if path.endswith(".ttc") else 0          # Noto CJK collection: face 1 = KR (has Hanja and kana)
    return ImageFont.truetype(path, size, index=index)


@functools.lru_cache(maxsize=4)
def _alphabet_fonts(split: str) -> tuple[str, ...]:
    """Faces of the synthetic engine's font split that draw all of Cyrillic and Greek: the same train/eval
    families as Latin text, so held-out foreign words are in faces the script identifier never saw."""
    from fontTools.ttLib import TTFont
    from models.synth.fonts import load_fonts
    needed = [c for lo, hi in FOREIGN_RANGES if lo < 0x2E80 for c in range(lo, hi + 1) if c != 0x03A2]
    out = []
    for path in sorted({f.path for f in load_fonts(split).fonts if not f.path.lower().endswith(".ttc")}):
        cmap = TTFont(path, lazy=True).getBestCmap() or {}
        if all(c in cmap for c in needed):
            out.append(path)
    return tuple(out)


def render_crop(rng: np.random.Generator, script: str, split: str = "train", height: int = 32,
                degrade_p: float = 0.8) -> RenderedCrop:
    """One word crop of `script` (hangul | latin | digits | other) rendered with a font of `split`;
    "other" here means a script we do not read (Han, kana, Cyrillic, Greek): Han and kana in the split's
    Noto CJK face, Cyrillic and Greek in any face of the split that has them."""
    text = random_text(rng, script)
    if script == "other":
        cjk = any(ord(c) > 0x2E80 for c in text)
        paths = () if cjk else _alphabet_fonts(split)
        if not paths:
            paths = (OTHER_FONTS[split if split in OTHER_FONTS else "train"][0 if cjk else 1],)
        path = paths[int(rng.integers(len(paths)))]
        font_name, pil = path.rsplit("/", 1)[1], _truetype(path, int(rng.integers(26, 44)))
    else:
        from models.synth.fonts import load_fonts
        fonts = [f for f in load_fonts(split).for_script(script) if f.covers(text)]
        if not fonts:
            return render_crop(rng, script, split, height, degrade_p)
        f = fonts[int(rng.integers(len(fonts)))]
        font_name, pil = f.name, f.pil(int(rng.integers(26, 44)))
    gray = draw_text(text, pil, rng)
    new_w = max(1, int(round(gray.shape[1] * height / gray.shape[0] * rng.uniform(0.85, 1.15))))
    gray = cv2.resize(gray, (new_w, height), interpolation=cv2.INTER_AREA)
    if rng.random() < degrade_p:
        gray = degrade(gray, rng)
    return RenderedCrop(gray, text, script, font_name)
