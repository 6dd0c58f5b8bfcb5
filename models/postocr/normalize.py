"""Normalisers and validators for entity values. Pure functions over strings.

Conventions (the `Entity.value` each entity type gets):
    DATE     ISO 8601 `YYYY-MM-DD`. Numeric day/month order: year-first when the year leads
             ("2024. 3. 5.", "2024-03-05"), otherwise day-first ("05/03/2024" is 5 March; this is
             the Korean/Malaysian/European reading) unless `day_first=False`.
    TIME     24-hour `HH:MM` or `HH:MM:SS` ("3:20 PM", "오후 3시 20분" -> "15:20").
    MONEY    `<decimal> <ISO 4217>` ("₩12,000" -> "12000 KRW", "RM 193.00" -> "193.00 MYR"); just the
             decimal when no currency is written. Decimals keep the digits after the point as written. A
             bare run of 7+ digits ("42270085", an approval number the tagger took for money) is invalid.
    PHONE    digits, with a leading "+" when written ("+82 10-1234-5678" -> "+821012345678").
    EMAIL    lower case.   URL  scheme and host lower case, "https://" added when missing.
    RRN      `YYMMDD-NNNNNNN`, valid when the check digit and the birth date agree.
    BRN      `NNN-NN-NNNNN`, valid when the check digit agrees.
    CARD     digits only, valid by Luhn.     ACCOUNT  digits and hyphens as written (no checksum: valid None).
Every normaliser returns None when the text is not a value of its type (never raises on bad text).
"""
from __future__ import annotations

import datetime as _dt
import re
from decimal import Decimal, InvalidOperation

from models.postocr.ids import digits_of, valid_brn, valid_luhn, valid_rrn
from models.postocr.kr_regions import snap_kr_address

MONTHS = {m: i + 1 for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}

CURRENCY_SYMBOLS: dict[str, str] = {
    "₩": "KRW", "원": "KRW", "krw": "KRW", "rm": "MYR", "myr": "MYR", "$": "USD", "usd": "USD",
    "us$": "USD", "€": "EUR", "eur": "EUR", "£": "GBP", "gbp": "GBP", "¥": "JPY", "jpy": "JPY",
}


def _iso(year: int, month: int, day: int) -> str | None:
    if year < 100:
        year += 2000 if year < 70 else 1900
    try:
        return _dt.date(year, month, day).isoformat()
    except ValueError:
        return None


_SEP = r"\s*[./\-]\s*"
_DATE_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"(\d{4})\s*년\s*(\d{1,2})\s*월\s*(\d{1,2})\s*일", "ymd"),
    (rf"(\d{{4}}){_SEP}(\d{{1,2}}){_SEP}(\d{{1,2}})\.?", "ymd"),
    (r"(\d{4})\s+(\d{1,2})\s+(\d{1,2})", "ymd"),          # "2024 03 05": a four-digit year first is unambiguous
    (rf"(\d{{1,2}}){_SEP}(\d{{1,2}}){_SEP}(\d{{4}}|\d{{2}})", "dmy"),
    (r"(\d{4})(\d{2})(\d{2})", "ymd"),
    (r"(\d{1,2})(?:st|nd|rd|th)?[\s\-]*([A-Za-z]{3,9})\.?,?[\s\-]*(\d{4}|\d{2})", "d_mon_y"),
    (r"([A-Za-z]{3,9})\.?[\s\-]*(\d{1,2})(?:st|nd|rd|th)?,?\s*(\d{4})", "mon_d_y"),
)


def normalize_date(text: str, day_first: bool = True) -> str | None:
    """ISO date of a date written in one of the usual Korean/English/Malaysian forms, else None."""
    t = text.strip()
    for pattern, order in _DATE_PATTERNS:
        m = re.fullmatch(pattern, t)
        if not m:
            continue
        a, b, c = m.groups()
        if order == "ymd":
            return _iso(int(a), int(b), int(c))
        if order == "dmy":
            d, mo = (int(a), int(b)) if day_first else (int(b), int(a))
            iso = _iso(int(c), mo, d) or _iso(int(c), d, mo)
            if iso is None and len(a) == 2 and len(c) == 2:
                iso = _iso(int(a), int(b), int(c))       # Korean receipts' "yy.mm.dd": "95.05.08"
            return iso
        if order == "d_mon_y":
            mo = MONTHS.get(b[:3].lower())
            return _iso(int(c), mo, int(a)) if mo else None
        mo = MONTHS.get(a[:3].lower())
        return _iso(int(c), mo, int(b)) if mo else None
    return None


def normalize_time(text: str) -> str | None:
    """24-hour `HH:MM[:SS]` of "11:05:16 AM", "14:30", "오후 3:20", "15시 20분"; else None."""
    t = text.strip()
    m = re.fullmatch(r"(오전|오후)?\s*(\d{1,2})\s*(?::|시\s*)(\d{2})(?:\s*(?::|분\s*)(\d{2})?\s*초?)?\s*"
                     r"(분)?\s*([AaPp]\.?[Mm]\.?)?", t)
    if not m:
        return None
    ko, h, mi, s, _fen, ampm = m.groups()
    h, mi = int(h), int(mi)
    pm = (ko == "오후") or (ampm is not None and ampm[0] in "Pp")
    am = (ko == "오전") or (ampm is not None and ampm[0] in "Aa")
    if (pm or am) and not 1 <= h <= 12:
        return None
    if pm and h < 12:
        h += 12
    if am and h == 12:
        h = 0
    if h > 23 or mi > 59 or (s is not None and int(s) > 59):
        return None
    return f"{h:02d}:{mi:02d}" + (f":{int(s):02d}" if s is not None else "")


_AMOUNT = re.compile(r"^(?P<pre>[₩$€£¥]|RM|MYR|KRW|USD|US\$|EUR|GBP|JPY)?\s*(?P<sign>-)?\s*"
                     r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d{1,3}(?:[ \u00a0\u2009]\d{3})+(?:\.\d+)?|"
                     r"\d{1,3}(?:\.\d{3})+|\d+(?:\.\d+)?)\s*"
                     r"(?P<post>원|KRW|MYR|USD|EUR|RM)?$", re.IGNORECASE)


BARE_DIGITS_MAX = 6      # printed amounts of a million or more carry a currency or grouping ("1,500,000")


def parse_amount(text: str) -> tuple[Decimal, str | None] | None:
    """(amount, ISO currency or None) of "₩12,000", "12,000원", "RM 193.00", "$1,234.50"; else None.
    Thousands may also be grouped by spaces ("₩ 2 510", SI style); in won, which has no minor unit, by dots
    too ("483.000원", "₩ 4.560"), and elsewhere one dot is a decimal point ("4.560" = 4.56). A bare run of
    BARE_DIGITS_MAX + 1 or more digits (no currency, grouping or decimals) is an approval, card or account
    number, not an amount: None."""
    m = _AMOUNT.match(text.strip())
    if not m:
        return None
    pre, post = m.group("pre"), m.group("post")
    if not (pre or post) and re.fullmatch(rf"\d{{{BARE_DIGITS_MAX + 1},}}", m.group("num")):
        return None
    if pre and post and CURRENCY_SYMBOLS[pre.lower()] != CURRENCY_SYMBOLS[post.lower()]:
        return None
    cur = pre or post
    num = m.group("num")
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", num):
        if cur and CURRENCY_SYMBOLS[cur.lower()] == "KRW":
            num = num.replace(".", "")
        elif num.count(".") > 1:
            return None
    try:
        value = Decimal(re.sub(r"[,\s]", "", num))      # \s covers NBSP and the thin space
    except InvalidOperation:
        return None
    if m.group("sign"):
        value = -value
    return value, (CURRENCY_SYMBOLS[cur.lower()] if cur else None)


def normalize_amount(text: str) -> str | None:
    parsed = parse_amount(text)
    if parsed is None:
        return None
    value, currency = parsed
    return f"{value} {currency}" if currency else str(value)


def normalize_phone(text: str) -> str | None:
    """Digits with a leading '+' when written; 8-15 digits (ITU E.164 allows 15), else None."""
    t = text.strip()
    if not re.fullmatch(r"\+?[\d\s\-().]{7,24}", t):
        return None
    d = re.sub(r"\D", "", t)
    if not 8 <= len(d) <= 15:
        return None
    return ("+" if t.startswith("+") else "") + d


def normalize_email(text: str) -> str | None:
    t = text.strip().strip(".,;")
    if not re.fullmatch(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}", t):
        return None
    return t.lower()


def normalize_url(text: str) -> str | None:
    t = text.strip().rstrip(".,;")
    m = re.fullmatch(r"(?:(https?)://)?((?:www\.)?[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})(/\S*)?", t)
    if not m or (m.group(1) is None and not t.lower().startswith("www.")):
        return None
    return f"{(m.group(1) or 'https').lower()}://{m.group(2).lower()}{m.group(3) or ''}"


def rrn_birth_date(text: str) -> str | None:
    """ISO birth date encoded in an RRN (gender digit 1/2/5/6 -> 1900s, 3/4/7/8 -> 2000s, 9/0 -> 1800s)."""
    d = digits_of(text)
    if len(d) != 13 or not d.isdigit():
        return None
    century = {"1": 1900, "2": 1900, "5": 1900, "6": 1900, "3": 2000, "4": 2000, "7": 2000, "8": 2000,
               "9": 1800, "0": 1800}[d[6]]
    try:
        return _dt.date(century + int(d[:2]), int(d[2:4]), int(d[4:6])).isoformat()
    except ValueError:
        return None


def normalize_rrn(text: str) -> str | None:
    d = digits_of(text)
    return f"{d[:6]}-{d[6:]}" if len(d) == 13 and d.isdigit() else None


def validate_rrn(text: str) -> bool:
    return valid_rrn(text) and rrn_birth_date(text) is not None


def normalize_brn(text: str) -> str | None:
    d = digits_of(text)
    return f"{d[:3]}-{d[3:5]}-{d[5:]}" if len(d) == 10 and d.isdigit() else None


def normalize_card(text: str) -> str | None:
    d = digits_of(text)
    return d if d.isdigit() and 12 <= len(d) <= 19 else None


def normalize_account(text: str) -> str | None:
    t = text.strip()
    return t if re.fullmatch(r"\d{2,6}(?:-\d{2,8}){1,4}", t) and 10 <= len(digits_of(t)) <= 16 else None


def normalize(label: str, text: str) -> tuple[str | None, bool | None]:
    """(normalised value, valid) of `text` read as an entity of type `label`.
    valid is None where no format or checksum applies (PERSON, ORG, ADDRESS, ACCOUNT). An ADDRESS's value
    has its leading Korean district names snapped to the official list (models.postocr.kr_regions)."""
    simple = {"DATE": normalize_date, "TIME": normalize_time, "MONEY": normalize_amount,
              "PHONE": normalize_phone, "EMAIL": normalize_email, "URL": normalize_url}
    if label in simple:
        value = simple[label](text)
        return value, value is not None
    if label == "RRN":
        return normalize_rrn(text), validate_rrn(text)
    if label == "BRN":
        return normalize_brn(text), valid_brn(text)
    if label == "CARD":
        return normalize_card(text), valid_luhn(text)
    if label == "ACCOUNT":
        return normalize_account(text) or text.strip(), None
    if label == "ADDRESS":           # Korean district names misread by a syllable are snapped to the list
        return snap_kr_address(" ".join(text.split())), None
    return " ".join(text.split()), None
