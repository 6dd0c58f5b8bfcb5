"""Text content for synthetic documents: words, sentences and labelled entity values.

Every generator takes the page's `Content` (a numpy Generator plus seeded Faker instances for ko_KR and
en_US) and returns plain strings or an `EntityText` (text + entity label + normalised value + validity).
Identification numbers carry valid check digits from models.postocr.ids.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from faker import Faker

from models.postocr.ids import brn_check_digit, luhn_check_digit, rrn_check_digit, valid_brn, valid_luhn, valid_rrn
from models.synth.charset import HANGUL_KSX1001

# common document vocabulary (nouns); particles and endings are added by the sentence builder
KO_WORDS: tuple[str, ...] = tuple("""
합계 금액 수량 단가 품목 규격 공급가액 세액 부가세 부가가치세 총액 소계 잔액 입금 출금 거래 거래처 명세서 영수증 청구서
견적서 계약서 신청서 확인서 증명서 주소 성명 이름 전화 전화번호 휴대폰 팩스 이메일 등록번호 사업자 상호 대표자 대표
발행일 작성일 일자 날짜 시간 기간 결제 카드 현금 승인 승인번호 계좌 계좌번호 은행 예금주 담당자 부서 회사 주식회사
고객 고객님 회원 번호 비고 참고 안내 공지 알림 내용 항목 결과 확인 서명 날인 도장 인감 제출 접수 처리 완료 예정
신청 변경 취소 환불 교환 배송 주문 상품 제품 서비스 이용 요금 청구 납부 기한 연체 이자 원금 대출 보험 보험료 계약
기간 만료 갱신 해지 회사명 본사 지점 센터 사무소 지역 도시 시군구 동 읍 면 리 건물 층 호 우편번호 국가 대한민국
서울 부산 대구 인천 광주 대전 울산 세종 경기 강원 충북 충남 전북 전남 경북 경남 제주 학교 병원 약국 식당 카페 마트
편의점 백화점 주유소 택시 버스 지하철 기차 항공 호텔 숙박 식비 교통비 통신비 관리비 전기 가스 수도 월세 보증금
커피 우유 빵 과자 음료 생수 라면 김밥 도시락 과일 사과 배 포도 딸기 고기 생선 채소 쌀 설탕 소금 간장 된장 고추장
연필 볼펜 공책 종이 봉투 상자 테이프 가위 의자 책상 모니터 키보드 마우스 프린터 토너 부품 자재 원료 장비 공구
월 일 년 시 분 초 개 매 건 권 장 박스 세트 kg 정 명 회 차 기 년도 분기 상반기 하반기 연간 월간 주간
위 아래 다음 이전 전체 일부 기타 해당 없음 있음 예 아니오 동의 미동의 필수 선택 개인정보 수집 이용 목적 보관
감사합니다 안녕하십니까 드립니다 바랍니다 주시기 하여 위하여 대하여 따라 관련 경우 때 후 전 중 및 또는 등
""".split())
KO_PARTICLES: tuple[str, ...] = ("", "", "", "은", "는", "이", "가", "을", "를", "의", "에", "에서", "으로", "와", "과", "도")
KO_ENDINGS: tuple[str, ...] = ("합니다.", "입니다.", "하였습니다.", "바랍니다.", "됩니다.", "있습니다.", "드립니다.")
EN_WORDS: tuple[str, ...] = tuple("""
total amount quantity price item description tax subtotal balance date invoice receipt statement account number
name address phone fax email company customer order payment card cash change due paid please thank you for your
the of and to in is on at by with from this that our we will be are as an or not all any may per each date time
signature approved reference no page form section notice letter dear sincerely regards office department service
product unit qty rate net gross discount credit debit deposit withdrawal transfer bank branch period from to
""".split())
DOC_SYMBOLS: tuple[str, ...] = ("※", "·", "-", "/", ":", "(", ")", "[", "]", "%", "₩", ",", ".", "~", "*", "#")


@functools.lru_cache(maxsize=2)
def _faker(locale: str) -> Faker:
    return Faker(locale)


@dataclass(frozen=True)
class EntityText:
    text: str
    label: str                 # one of models.types.ENTITY_TYPES
    value: str | None = None   # normalised value
    valid: bool | None = None  # checksum validity where one exists


class Content:
    """Seeded content source for one page or one batch of crops."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.ko = _faker("ko_KR")
        self.en = _faker("en_US")
        seed = int(rng.integers(0, 2**31 - 1))
        self.ko.seed_instance(seed)
        self.en.seed_instance(seed + 1)

    # --- small helpers -------------------------------------------------------------------------------
    def choice(self, items):
        return items[int(self.rng.integers(len(items)))]

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def digits(self, n: int) -> str:
        return "".join(str(d) for d in self.rng.integers(0, 10, n))

    def fk(self, lang: str) -> Faker:
        return self.ko if lang == "ko" else self.en

    # --- words and sentences -------------------------------------------------------------------------
    def syllables(self, lo: int = 1, hi: int = 4) -> str:
        """Random KS X 1001 syllables (uniform, so every syllable appears over a run)."""
        n = int(self.rng.integers(lo, hi + 1))
        return "".join(HANGUL_KSX1001[i] for i in self.rng.integers(0, len(HANGUL_KSX1001), n))

    def ko_word(self) -> str:
        r = self.rng.random()
        if r < 0.2:
            return self.syllables(1, 4)
        w = self.choice(KO_WORDS)
        return w + self.choice(KO_PARTICLES) if self.chance(0.4) else w

    def en_word(self) -> str:
        w = self.en.word() if self.chance(0.5) else self.choice(EN_WORDS)
        r = self.rng.random()
        return w.capitalize() if r < 0.25 else (w.upper() if r < 0.32 else w)

    def word(self, lang: str) -> str:
        if lang == "mixed":
            lang = "ko" if self.chance(0.6) else "en"
        return self.ko_word() if lang == "ko" else self.en_word()

    def sentence(self, lang: str, lo: int = 4, hi: int = 12) -> str:
        n = int(self.rng.integers(lo, hi + 1))
        if lang == "mixed":
            lang = "ko" if self.chance(0.6) else "en"
        words = [self.word(lang) if not self.chance(0.08) else self.number_token() for _ in range(n)]
        if lang == "ko":
            return " ".join(words) + " " + self.choice(KO_ENDINGS)
        return " ".join(words).capitalize() + self.choice((".", ".", ".", ",", ";", ":", "?"))

    def number_token(self) -> str:
        r = self.rng.random()
        if r < 0.3:
            return str(int(self.rng.integers(1, 100)))
        if r < 0.6:
            return f"{int(self.rng.integers(1, 10**7)):,}"
        if r < 0.8:
            return f"{self.rng.random() * 100:.{int(self.rng.integers(1, 3))}f}%"
        return self.date(self.choice(("ko", "en"))).text

    # --- entities ------------------------------------------------------------------------------------
    def person(self, lang: str) -> EntityText:
        return EntityText(self.fk(lang).name(), "PERSON")

    def org(self, lang: str) -> EntityText:
        return EntityText(self.fk(lang).company(), "ORG")

    def address(self, lang: str) -> EntityText:
        text = self.fk(lang).address().replace("\n", ", ")
        return EntityText(text, "ADDRESS")

    def phone(self, lang: str) -> EntityText:
        if lang == "ko":
            text = self.choice((f"010-{self.digits(4)}-{self.digits(4)}", f"02-{self.digits(3)}-{self.digits(4)}",
                                f"0{int(self.rng.integers(31, 65))}-{self.digits(3)}-{self.digits(4)}",
                                f"1588-{self.digits(4)}"))
        else:
            text = self.en.phone_number()
        return EntityText(text, "PHONE", "".join(c for c in text if c.isdigit()))

    def email(self, lang: str) -> EntityText:
        return EntityText(self.fk(lang).email(), "EMAIL")

    def url(self, lang: str) -> EntityText:
        u = self.fk(lang).url()
        return EntityText(u if self.chance(0.5) else u.replace("https://", "").replace("http://", "").rstrip("/"),
                          "URL")

    def date(self, lang: str) -> EntityText:
        y, m, d = int(self.rng.integers(1990, 2031)), int(self.rng.integers(1, 13)), int(self.rng.integers(1, 29))
        iso = f"{y:04d}-{m:02d}-{d:02d}"
        months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
        forms = [iso, f"{y}.{m:02d}.{d:02d}", f"{y}/{m:02d}/{d:02d}", f"{y % 100:02d}.{m:02d}.{d:02d}"]
        if lang == "ko":
            forms += [f"{y}년 {m}월 {d}일", f"{y}. {m}. {d}."]
        else:
            forms += [f"{m:02d}/{d:02d}/{y}", f"{d:02d}/{m:02d}/{y}", f"{months[m - 1]} {d}, {y}", f"{d} {months[m - 1]} {y}"]
        return EntityText(self.choice(forms), "DATE", iso)

    def time(self, lang: str) -> EntityText:
        h, mi, s = int(self.rng.integers(0, 24)), int(self.rng.integers(0, 60)), int(self.rng.integers(0, 60))
        forms = [f"{h:02d}:{mi:02d}", f"{h:02d}:{mi:02d}:{s:02d}"]
        if lang == "ko":
            forms.append(f"{'오전' if h < 12 else '오후'} {(h % 12) or 12}:{mi:02d}")
        else:
            forms.append(f"{(h % 12) or 12}:{mi:02d} {'AM' if h < 12 else 'PM'}")
        return EntityText(self.choice(forms), "TIME", f"{h:02d}:{mi:02d}")

    def money(self, lang: str, amount: int | float | None = None) -> EntityText:
        if amount is None:
            amount = int(self.rng.integers(1, 500)) * int(self.choice((10, 100, 1000)))
        if lang == "ko":
            a = int(round(amount))
            text = self.choice((f"₩{a:,}", f"{a:,}원", f"{a:,}", f"₩ {a:,}"))
            return EntityText(text, "MONEY", str(a))
        a = round(float(amount) / (1 if isinstance(amount, float) else 100), 2)
        text = self.choice((f"${a:,.2f}", f"{a:,.2f}", f"USD {a:,.2f}"))
        return EntityText(text, "MONEY", f"{a:.2f}")

    def rrn(self) -> EntityText:
        y, m, d = int(self.rng.integers(40, 100)), int(self.rng.integers(1, 13)), int(self.rng.integers(1, 29))
        body = f"{y:02d}{m:02d}{d:02d}{int(self.rng.integers(1, 3))}{self.digits(5)}"
        full = body + str(rrn_check_digit(body))
        return EntityText(f"{full[:6]}-{full[6:]}", "RRN", full, valid_rrn(full))

    def brn(self) -> EntityText:
        body = f"{int(self.rng.integers(101, 999))}{int(self.rng.integers(1, 99)):02d}{self.digits(4)}"
        full = body + str(brn_check_digit(body))
        return EntityText(f"{full[:3]}-{full[3:5]}-{full[5:]}", "BRN", full, valid_brn(full))

    def card(self) -> EntityText:
        body = self.choice(("4", "5", "9410", "3")) + ""
        body = (body + self.digits(15))[:15]
        full = body + str(luhn_check_digit(body))
        return EntityText("-".join(full[i:i + 4] for i in range(0, 16, 4)), "CARD", full, valid_luhn(full))

    def account(self) -> EntityText:
        pat = self.choice(((3, 2, 6), (3, 6, 2, 3), (4, 3, 6), (6, 2, 6)))
        parts = [self.digits(n) for n in pat]
        text = "-".join(parts)
        return EntityText(text, "ACCOUNT", "".join(parts))

    def entity(self, label: str, lang: str) -> EntityText:
        """Any entity type by label (ENTITY_TYPES)."""
        gen = {"PERSON": self.person, "ORG": self.org, "ADDRESS": self.address, "DATE": self.date,
               "TIME": self.time, "MONEY": self.money, "PHONE": self.phone, "EMAIL": self.email, "URL": self.url}
        if label in gen:
            return gen[label]("ko" if lang == "mixed" and self.chance(0.6) else ("en" if lang == "mixed" else lang))
        if label in ("RRN", "BRN", "CARD", "ACCOUNT"):
            return {"RRN": self.rrn, "BRN": self.brn, "CARD": self.card, "ACCOUNT": self.account}[label]()
        raise ValueError(f"unknown entity label {label!r}")
