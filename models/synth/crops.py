"""Fast path: word and text-line crops rendered directly, for recognizer and script-id training.

A crop is the text's ink box plus a small random margin, rendered at a random pixel size near the target
height and resized to exactly `height` rows (width follows the aspect). Dark text on light, uint8 gray.
Texts by script: Korean words (document vocabulary, particles, uniform random KS X 1001 syllables so every
syllable appears), English words, numbers/dates/amounts/phones/IDs, punctuation and document symbols.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw

from models.geometry import crop_quad

from models.synth import degrade
from models.synth.charset import script_of
from models.synth.content import DOC_SYMBOLS, Content
from models.synth.fonts import FontSet, load_fonts
from models.synth.render import word_char_boxes
from models.types import SCRIPTS

SCRIPT_WEIGHTS: dict[str, float] = {"hangul": 0.42, "latin": 0.3, "digits": 0.2, "other": 0.08}


@dataclass(frozen=True)
class WordCrop:
    """image: (height, W) uint8 gray, dark text on light; text: the exact transcription;
    script: one of models.types.SCRIPTS (of `text`, see charset.script_of); font: the face name."""
    image: np.ndarray
    text: str
    script: str
    font: str


def sample_text(content: Content, script: str) -> str:
    """A word (no spaces) of the given script: the result's script_of() equals `script`."""
    word = _sample_text(content, script)
    if " " in word:                     # multi-token values (city names, ...): keep one token of the script
        tokens = [t for t in word.split() if script_of(t) == script]
        word = tokens[0] if tokens else _sample_text(content, script).replace(" ", "")
    return word if script_of(word) == script else _fallback_word(content, script)


def _fallback_word(content: Content, script: str) -> str:
    return {"hangul": lambda: content.syllables(1, 3), "latin": content.en_word,
            "digits": lambda: content.digits(4), "other": lambda: "-"}[script]()


def _sample_text(content: Content, script: str) -> str:
    rng = content.rng
    if script == "hangul":
        r = rng.random()
        if r < 0.35:
            w = content.syllables(1, 5)
        elif r < 0.85:
            w = content.ko_word()
        else:
            w = content.choice((content.ko.last_name() + content.ko.first_name(), content.ko.city(),
                                "(주)" + content.ko_word(), content.ko_word() + content.choice(("(", ":", ")", ".", ","))))
        return w if script_of(w) == "hangul" else content.syllables(1, 3)
    if script == "latin":
        r = rng.random()
        if r < 0.64:
            w = content.en_word()
        elif r < 0.74:
            w = content.en_word() + content.choice((".", ",", ":", ";", ")", "'s", "-", "!", "?", "’s"))
        elif r < 0.8:
            w = symbol_word(content)
        elif r < 0.88:
            w = content.en.email() if rng.random() < 0.5 else content.en.domain_name()
        else:
            w = "".join(content.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(int(rng.integers(3, 9))))
        return w if script_of(w) == "latin" else content.en_word()
    if script == "digits":
        lang = content.choice(("ko", "en"))
        r = rng.random()
        if r < 0.3:
            w = content.number_token()
        elif r < 0.5:
            w = content.money(lang).text.replace(" ", "")
        elif r < 0.65:
            w = content.date("en").text.split()[0] if rng.random() < 0.3 else content.date("en").text.replace(" ", "")
        elif r < 0.75:
            w = content.phone("ko").text
        elif r < 0.82:
            w = content.time("en").text.split()[0]
        else:
            w = content.entity(content.choice(("RRN", "BRN", "CARD", "ACCOUNT")), "ko").text
        return w if script_of(w) == "digits" else content.digits(int(rng.integers(1, 8)))
    if script == "other":
        n = int(rng.integers(1, 4))
        pool = RARE_SYMBOLS if rng.random() < 0.3 else DOC_SYMBOLS + ("-", "(", ")", "·", "※", "*", "/", "&", "!", "?")
        return "".join(content.choice(pool) for _ in range(n))
    raise ValueError(f"script must be one of {SCRIPTS}, got {script!r}")


# symbols of the charset that words and document symbols above never draw (before: '&' was never seen in
# training, and receipts' "A&W" read "A8W")
RARE_SYMBOLS: tuple[str, ...] = tuple('!"&+<=>?\\^_`{|}') + tuple("○●□■☐☑◎△▲▶★°×€£¥÷±→←↑↓◆◇☆♥√「」『』【】〈〉《》“”‘’…§¶©®™µº")


def symbol_word(content: Content) -> str:
    """A Latin token with the symbols documents put inside or around words: R&D, "quoted", (note), +1, a=b."""
    a, b = content.en_word(), content.en_word()
    return content.choice((
        lambda: a[:1].upper() + "&" + b[:1].upper(), lambda: a.upper() + "&" + b.upper(), lambda: a + "&" + b,
        lambda: '"' + a + '"', lambda: "“" + a + "”", lambda: "‘" + a + "’", lambda: "(" + a + ")",
        lambda: "[" + a + "]", lambda: "<" + a + ">", lambda: a + "!", lambda: a + "?", lambda: a + "_" + b,
        lambda: a + "=" + content.digits(2), lambda: "+" + content.digits(2) + a, lambda: a + "/" + b,
        lambda: a + "|" + b, lambda: a + "™", lambda: a + "®", lambda: "©" + a, lambda: "#" + a,
    ))()


def _pick_script(rng: np.random.Generator) -> str:
    names = list(SCRIPT_WEIGHTS)
    p = np.array([SCRIPT_WEIGHTS[s] for s in names])
    return names[int(rng.choice(len(names), p=p / p.sum()))]


LOOSE_MARGINS = (0.1, 0.5)     # a loose box's margins above and below the ink, in font sizes (each drawn)


def _render(text: str, font, rng: np.random.Generator, height: int, loose: bool = False,
            aliased: bool = True) -> np.ndarray:
    """Render `text` tight around its ink with a random margin (a wide one above and below when `loose`);
    returns gray uint8 (any height). `aliased=False` draws hard black/white pixels (a printer's bitmap)."""
    boxes, _adv = word_char_boxes(font, text)
    inked = boxes[boxes[:, 2] > boxes[:, 0]]
    x0, y0 = inked[:, 0].min(), inked[:, 1].min()
    x1, y1 = inked[:, 2].max(), inked[:, 3].max()
    size = font.size
    # very flat ink (dashes, dots): show it inside the line's x-height band instead of filling the crop
    if y1 - y0 < 0.45 * size:
        y0, y1 = min(y0, -0.72 * size), max(y1, 0.05 * size)
    mx = size * rng.uniform(0.02, 0.25, 2)
    my = size * rng.uniform(*(LOOSE_MARGINS if loose else (0.02, 0.18)), 2)
    w = int(np.ceil(x1 - x0 + mx.sum())) + 1
    h = int(np.ceil(y1 - y0 + my.sum())) + 1
    img = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(img)
    if not aliased:
        draw.fontmode = "1"
    draw.text((mx[0] - x0, my[0] - y0), text, font=font, fill=0, anchor="ls")
    return np.asarray(img)


# Receipt printers (thermal, dot-matrix) print from small bitmaps: a Latin capital is 9-14 printer dots high
# (Hangul, whose syllables need more, 12-20), often in a condensed face, and each dot is a square, a round
# dot or, on worn dot-matrix heads, a ring.
PRINT_DOTS = {"latin": (9, 14), "hangul": (12, 20)}
PRINT_CONDENSED = (0.55, 0.9)     # horizontal squeeze of a condensed printer face (drawn for half the crops)


def _dot_kernel(pitch: int, rng: np.random.Generator) -> np.ndarray:
    """One printed dot on a `pitch`-pixel grid: a square, a disk or a ring, possibly wider than its cell."""
    shape = rng.choice(("square", "round", "ring"), p=(0.4, 0.4, 0.2))
    r = pitch * rng.uniform(0.4, 0.75) if shape != "square" else pitch * rng.uniform(0.45, 0.55)
    n = int(np.ceil(2 * r)) | 1
    yy, xx = np.mgrid[:n, :n] - (n - 1) / 2
    if shape == "square":
        return np.ones((n, n), np.float32)
    d = np.hypot(yy, xx)
    k = (d <= r).astype(np.float32)
    if shape == "ring":
        k[d < r * rng.uniform(0.35, 0.6)] = 0
    return k


def printed_render(text: str, font_info, rng: np.random.Generator, loose: bool = False,
                   double_p: float = 0.0) -> np.ndarray:
    """`text` as a receipt printer prints it: rendered as a hard bitmap of PRINT_DOTS printer dots high
    (with `double_p` in the printer's double-width mode, else condensed for half the crops), then each dot
    drawn as a square, disk or ring on a 3-6 px pitch, ink at a random darkness; gray uint8, dark on light.
    The dot count sets the size, so any face serves."""
    dots = PRINT_DOTS["hangul" if script_of(text) == "hangul" else "latin"]
    size = max(6, int(round(rng.integers(dots[0], dots[1] + 1) / 0.72)))    # cap height ~0.72 of the size
    bitmap = _render(text, font_info.pil(size), rng, size, loose=loose, aliased=False) < 128
    if double_p and rng.random() < double_p:       # the printer's double-width mode (headers, totals)
        bitmap = np.repeat(bitmap, 2, axis=1)
    elif rng.random() < 0.5:
        h, w = bitmap.shape
        nw = max(1, int(round(w * rng.uniform(*PRINT_CONDENSED))))
        bitmap = cv2.resize(bitmap.astype(np.uint8), (nw, h), interpolation=cv2.INTER_NEAREST) > 0
    pitch = int(rng.integers(3, 7))
    impulses = np.zeros((bitmap.shape[0] * pitch, bitmap.shape[1] * pitch), np.float32)
    impulses[pitch // 2::pitch, pitch // 2::pitch] = bitmap
    ink = np.minimum(cv2.filter2D(impulses, -1, _dot_kernel(pitch, rng), borderType=cv2.BORDER_CONSTANT), 1.0)
    if rng.random() < 0.5:
        ink = cv2.GaussianBlur(ink, (0, 0), pitch * rng.uniform(0.1, 0.3))
    return (255 - 255 * rng.uniform(0.65, 1.0) * ink).astype(np.uint8)


BANNER_SOLID = (0.45, 0.95)       # darkness of a solid banner (share of black)
BANNER_DITHER = (0.3, 0.6)        # share of black of a halftone (stippled) gray banner
BANNER_PITCH = (0.06, 0.12)       # its screen's period, in crop heights


def banner(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The crop reversed out of a banner, as receipts print their headers: the text in the paper's tone on a
    solid dark fill or on a gray that the printer dithers from black pixels on a periodic screen, gray uint8."""
    ink = 1.0 - img.astype(np.float32) / 255.0
    h, w = img.shape
    if rng.random() < 0.5:
        bg = np.full((h, w), 255.0 * (1.0 - rng.uniform(*BANNER_SOLID)), np.float32)
    else:
        pitch = max(2, int(round(h * rng.uniform(*BANNER_PITCH))))       # an ordered dither: one threshold
        screen = (rng.permutation(pitch * pitch).reshape(pitch, pitch) + 0.5) / (pitch * pitch)   # per cell
        yy, xx = np.mgrid[:h, :w]
        black = screen[yy % pitch, xx % pitch] < rng.uniform(*BANNER_DITHER)
        bg = 255.0 * (~black).astype(np.float32)
    return np.clip(bg * (1.0 - ink) + rng.uniform(215, 255) * ink, 0, 255).astype(np.uint8)


def render_word_crop(rng: np.random.Generator, *, script: str | None = None, height: int = 32,
                     fonts: FontSet | None = None, degrade: bool = True, text: str | None = None,
                     lowres_p: float = 0.0, loose_p: float = 0.0, print_p: float = 0.0, banner_p: float = 0.0,
                     double_p: float = 0.0) -> WordCrop:
    """One word crop. `script` None draws one by SCRIPT_WEIGHTS; `text` overrides the sampled text
    (its script is then script_of(text)); `lowres_p`: chance of a low-resolution scan (`lowres_scan`);
    `loose_p`: chance of a loose box (LOOSE_MARGINS above and below the ink, as loose GT or detector boxes
    leave it); `print_p`: chance of a receipt printer's dot bitmap (`printed_render`, in double-width mode
    with `double_p`); `banner_p`: chance of light text on a dark or stippled banner (`banner`). Raises
    ValueError when no font covers the text."""
    return _crop(rng, script=script, height=height, fonts=fonts, degrade_=degrade, text=text, n_words=1,
                 lowres_p=lowres_p, loose_p=loose_p, print_p=print_p, banner_p=banner_p, double_p=double_p)


def render_text_line_crop(rng: np.random.Generator, *, script: str | None = None, height: int = 32,
                          fonts: FontSet | None = None, degrade: bool = True, text: str | None = None,
                          words: tuple[int, int] = (2, 7), lowres_p: float = 0.0, loose_p: float = 0.0,
                          print_p: float = 0.0, banner_p: float = 0.0, double_p: float = 0.0) -> WordCrop:
    """A text-line crop of several words separated by single spaces (the text holds those spaces); the
    line's script is that of its majority-script sampling (script_of of the whole text)."""
    n = int(rng.integers(words[0], words[1] + 1))
    return _crop(rng, script=script, height=height, fonts=fonts, degrade_=degrade, text=text, n_words=n,
                 lowres_p=lowres_p, loose_p=loose_p, print_p=print_p, banner_p=banner_p, double_p=double_p)


LOWRES_HEIGHTS = (10, 18)      # crop heights in pixels of a low-resolution scan (FUNSD word boxes: 10 to 14)


def lowres_scan(img: np.ndarray, rng: np.random.Generator, heights: tuple[int, int] = LOWRES_HEIGHTS,
                bitonal_p: float = 0.6) -> np.ndarray:
    """The crop as a low-resolution scan holds it: shrunk to a height of `heights` pixels and, with
    `bitonal_p`, thresholded there (a bitonal office scanner or fax at 100-150 dpi). The result stays
    small: the pipeline's upscale to the recognizer's height (crop_quad, bilinear) follows, as it does
    on such a scan."""
    h, w = img.shape
    target = int(rng.integers(heights[0], heights[1] + 1))
    if h <= target:
        return img
    small = cv2.resize(img, (max(1, int(round(w * target / h))), target), interpolation=cv2.INTER_AREA)
    return degrade.binarize(small, rng, (0.35, 0.65)) if rng.random() < bitonal_p else small


def _crop(rng, *, script, height, fonts, degrade_, text, n_words, lowres_p=0.0, loose_p=0.0,
          print_p=0.0, banner_p=0.0, double_p=0.0) -> WordCrop:
    if height < 8:
        raise ValueError(f"height must be >= 8, got {height}")
    fonts = fonts or load_fonts("train")
    content = Content(rng)
    if text is None:
        script = script or _pick_script(rng)
        if script not in SCRIPTS:
            raise ValueError(f"script must be one of {SCRIPTS}, got {script!r}")
        for _ in range(20):             # sampled text that no face covers (rare symbols): sample again
            parts = [sample_text(content, script)]
            for _ in range(n_words - 1):   # lines mix in other scripts now and then
                s = script if rng.random() < 0.75 else _pick_script(rng)
                parts.append(sample_text(content, s))
            text = " ".join(parts)
            if fonts.for_text(text):
                break
    text = " ".join(text.split())
    if not text:
        raise ValueError("text is empty")
    candidates = fonts.for_text(text)
    if not candidates:
        raise ValueError(f"no font in the set covers {text!r}")
    info = candidates[int(rng.integers(len(candidates)))]
    size = int(round(height * rng.uniform(0.75, 1.5)))
    loose = bool(loose_p) and rng.random() < loose_p
    if print_p and rng.random() < print_p:
        img = printed_render(text, info, rng, loose=loose, double_p=double_p)
    else:
        img = _render(text, info.pil(size), rng, height, loose=loose)
    if banner_p and rng.random() < banner_p:
        img = banner(img, rng)
    if degrade_:
        img = degrade.apply_random(img, rng, degrade.CROP_STEPS)
    if lowres_p and rng.random() < lowres_p:
        img = lowres_scan(img, rng)
    h, w = img.shape
    new_w = max(1, int(round(w * height / h * (rng.uniform(0.85, 1.15) if degrade_ else 1.0))))
    interp = cv2.INTER_AREA if h > height else cv2.INTER_LINEAR
    img = cv2.resize(img, (new_w, height), interpolation=interp)
    return WordCrop(image=np.ascontiguousarray(img), text=text, script=script_of(text), font=info.name)


def rectify_quad(image: np.ndarray, quad, height: int, pad: float = 0.0) -> np.ndarray:
    """Upright crop under a TL-first quad at a fixed height (models.geometry.crop_quad)."""
    return crop_quad(image, np.asarray(quad, np.float32).reshape(4, 2), height=height, pad=pad)


def crops_from_page(image: np.ndarray, page, *, height: int = 32, pad: float = 0.12,
                    min_height_px: float = 6.0, lines: bool = False) -> list[WordCrop]:
    """Word crops (or, with `lines`, text-line crops of lines of more than one word) cut from a rendered page
    along its GT quads (text-relative TL first, so rotated pages give upright crops); grayscale like the
    fast path. Quads lower than `min_height_px` are skipped."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    out = []
    for item in page.lines if lines else page.words:
        q = np.asarray(item.quad, np.float64)
        text = " ".join(item.text.split())
        if np.hypot(*(q[3] - q[0])) < min_height_px or not text or (lines and len(item.word_ids) < 2):
            continue
        out.append(WordCrop(image=rectify_quad(gray, q, height, pad), text=text,
                            script=script_of(text) if lines else item.script, font=str(page.meta.get("font", ""))))
    return out
