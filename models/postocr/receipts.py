"""Receipt key fields without a template: company, date, address, total (the SROIE task-3 fields).

Rules over the page's rows (lines sharing a baseline in the page's frame, its skew taken out) and the entities
found on them, for Malaysian / English and Korean receipts:
    company  the first line near the top that carries a company suffix (SDN BHD, ENTERPRISE, (주), (유),
             주식회사, ...), else the first line that is not boilerplate ("COPY", "TAX INVOICE", ...),
             a registration number or another labelled line ("대표자: ...");
    address  the value of an "Address:" / "주소:" line, else the lines after the company (skipping
             registration-number lines) that start like an address, up to and including the line with a
             postcode or state, stopping at phone / tax / invoice lines;
    date     the first DATE entity, as written ("95.05.08", a Korean yy.mm.dd, included);
    total    the amount on (or right after) the strongest "total" key row of at most TOTAL_MAX_TOKENS
             words (a sentence that mentions a total is not one), as written; won amounts have no minor
             unit ("321,700", "₩ 2,300").
Fields are returned as written on the page (what SROIE scores); `normalised_fields` adds ISO / decimal forms.

`ReceiptFields` is the pipeline stage: on a page no template matched that looks like a receipt (it has both a
date and a total-like amount), it fills `page.fields` with what `receipt_fields` finds and records
`page.meta["fields_source"] = "receipt_rules"`; template-matched pages and other pages are left as they are.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from models.postocr.cluster import derotated_boxes, group_rows, page_frame
from models.postocr.entities import find_spans
from models.postocr.normalize import normalize_amount, normalize_date
from models.types import Page

COMPANY_SUFFIX = re.compile(r"\b(SDN\.?\s?BHD|BHD|BERHAD|ENTERPRISE|TRADING|RESTAURANT|HOLDINGS|CORP|INC|LTD|LLC|"
                            r"PLT|STATIONERY|HARDWARE|MART|SHOP|STORE|CAFE)\b|\((주|유|합|재|사)\)|㈜|주식회사|유한회사|합자회사|합명회사|"
                            r"재단법인|사단법인", re.IGNORECASE)
BOILERPLATE = re.compile(r"COPY|TAX INVOICE|INVOICE|RECEIPT|WELCOME|CASH ?SALE|^\W*$|영수증|거래명세서", re.IGNORECASE)
REGISTRATION = re.compile(r"\b(ROC|CO\.?\s?REG|COMPANY\s?NO|REG\.?\s?NO|GST|SST|BRN|\(\d{5,}-[A-Z]\))|^\(?\d{5,}-[A-Z]\)?$|"
                          r"사업자\s?(등록)?\s?번호|등록\s?번호|\b\d{3}-\d{2}-\d{5}\b",
                          re.IGNORECASE)
OTHER_KEY = re.compile(r"^\W*(대표자?|대표이사|성명|REPRESENTATIVE|CEO|CASHIER|주\s?소|ADDRESS|전화(번호)?|TEL|PHONE)\b",
                       re.IGNORECASE)     # a labelled line ("대표자: 홍길동") that is not the company's name
ADDRESS_STOP = re.compile(r"\b(TEL|FAX|PHONE|H/P|HP|GST|EMAIL|E-MAIL|INVOICE|RECEIPT|DATE|CASHIER|WEBSITE|"
                          r"WWW|TAX)\b|전화|TEL\s?:", re.IGNORECASE)
ADDRESS_END = re.compile(r"\b\d{5}\b|\b(JOHOR|SELANGOR|KUALA LUMPUR|MELAKA|PAHANG|PERAK|KEDAH|PENANG|"
                         r"PULAU PINANG|SABAH|SARAWAK|KELANTAN|TERENGGANU|NEGERI SEMBILAN|PERLIS|PUTRAJAYA)\b\.?,?$",
                         re.IGNORECASE)
STATE_ONLY = re.compile(r"^\W*(JOHOR|SELANGOR|KUALA LUMPUR|MELAKA|PAHANG|PERAK|KEDAH|PENANG|PULAU PINANG|SABAH|"
                        r"SARAWAK|KELANTAN|TERENGGANU|NEGERI SEMBILAN|PERLIS|PUTRAJAYA|W\.?P\.?)\W*$", re.IGNORECASE)
TOTAL_KEYS: tuple[tuple[int, re.Pattern], ...] = tuple((score, re.compile(p, re.IGNORECASE)) for score, p in (
    (6, r"\b(GRAND|NETT?|ROUNDED|ROUNDING)\s*TOTAL\b|\bTOTAL\s*(ROUNDED|AFTER\s*ROUNDING)|"
        r"TOTAL\s*(AMOUNT|AMT|SALES)?\s*\(?(RM|INCL(?!UDE)|INCLUSIVE)|합계\s?금액|총\s?합계|받을\s?금액"),
    (5, r"\bTOTAL\s*(AMOUNT|AMT|PAYABLE|DUE|SALES?)\b(?!.*EXCL)|\bAMOUNT\s*DUE\b"),
    (4, r"^\W*TOTAL\W*(RM)?\W*$|^\W*TOTAL\s*[:(]|\bTOTAL\b(?!\s*(QTY|QUANTITY|ITEM|EXCL|GST|SST|TAX|DISC|SAVING|INCLUDE))|합계|총액"),
))
_AMOUNT = re.compile(r"(?:-?(?:RM|\$|₩)?\s?\d{1,3}(?:,\d{3})*\.\d{2}|-?\d+\.\d{2})(?![\d%]|\.\d)|\d{1,3}(?:,\d{3})+\s?원|"
                     r"₩\s?\d{1,3}(?:[,.]\d{3})+|(?<![\d,.\-])\d{1,3}(?:[,.]\d{3})+(?![\d,.\-%])")
# the last two: won, which has no minor unit, grouped by commas (or dots: "840.900" is a comma read as a dot)
TOTAL_MAX_TOKENS = 8          # a total key sits on a short row ("TOTAL (RM) 12.00", "합계 321,700"), not in prose


def rows_of(page: Page) -> list[str]:
    """Texts of the page's rows (lines sharing a baseline, left to right), top to bottom. Receipts print
    a key and its amount on one row, possibly as two text segments."""
    units = page.lines if page.lines else None
    if units is None:
        return [w.text for w in page.words]
    boxes = derotated_boxes(np.array([ln.quad for ln in units]), page_frame(page)[0])
    return [" ".join(units[j].text.strip() for j in row) for row in group_rows(boxes)]


_REG_TAIL = re.compile(r"\s*[(\[]\s*(?:CO\.?\s*(?:REG\.?\s*)?NO\.?\s*:?\s*)?\d{4,}[\s\-]*[A-Z]?\s*[)\]]\s*$", re.IGNORECASE)
_SUFFIX_ONLY = re.compile(r"^\W*(SDN\.?\s?BHD\.?|BHD\.?|BERHAD|\(M\)\s?SDN\.?\s?BHD\.?)\W*$", re.IGNORECASE)


def _company_text(lines: list[str], i: int) -> str:
    """The company line without a trailing registration number, joined with the line above when this
    one is only the legal suffix ("SDN BHD") or the line above ends with "&"."""
    text = _REG_TAIL.sub("", lines[i]).strip()
    if i > 0 and (_SUFFIX_ONLY.match(text) or lines[i - 1].rstrip().endswith("&")):
        text = f"{lines[i - 1].strip()} {text}"
    return text


def find_company(lines: list[str], top: int = 8) -> tuple[int, str] | None:
    head = lines[:top]
    for i, t in enumerate(head):
        core = _REG_TAIL.sub("", t)
        if COMPANY_SUFFIX.search(core) and len(re.sub(r"\W", "", core)) >= 3 and not REGISTRATION.search(core):
            return i, _company_text(lines, i)
    for i, t in enumerate(head):
        letters = re.sub(r"[^A-Za-z가-힣]", "", t)
        if len(letters) >= 4 and not BOILERPLATE.search(t) and not REGISTRATION.search(t) and not OTHER_KEY.match(t):
            return i, t.strip()
    return None


ADDRESS_START = re.compile(r"^\W*(NO\b|NO\.|LOT\b|LEVEL\b|JALAN\b|JLN\b|TAMAN\b|BLOCK\b|BLK\b|UNIT\b|"
                           r"[A-Z]{0,2}\d+[A-Z]{0,2}\b)|[가-힣]+(시|도)\s", re.IGNORECASE)


ADDRESS_LABEL = re.compile(r"^\W*(ADDRESS|ADDR\.?|주\s?소)(\s*\(\s*(ADDRESS|ADDR\.?)\s*\))?\s*[:：]\s*", re.IGNORECASE)


def find_address(lines: list[str], after: int, max_lines: int = 5) -> str | None:
    """Lines after the company: skip registration numbers, dates and other company lines until one
    starts like an address (number, NO, LOT, JALAN, ...), then collect until a postcode/state line."""
    parts: list[str] = []
    for t in lines[after + 1:after + 1 + max_lines + 3]:
        t = _REG_TAIL.sub("", t).strip()
        labelled = ADDRESS_LABEL.match(t)
        if labelled and not parts:
            t = t[labelled.end():].strip()          # "주소: 서울특별시 ..." / "Address: 616 Roman Club"
        if not parts and not labelled and (REGISTRATION.search(t) or COMPANY_SUFFIX.search(t) or
                                           find_spans_label(t, "DATE") or not ADDRESS_START.search(t)) or not t:
            continue
        if ADDRESS_STOP.search(t) or find_spans_label(t, "PHONE"):
            break
        if parts and re.search(r"\b\d{5}\b", parts[-1]) and not STATE_ONLY.match(t):
            break                 # the postcode line ended it, unless a lone state name follows
        parts.append(t.strip())
        if (ADDRESS_END.search(t) and not re.search(r"\b\d{5}\b", t)) or len(parts) >= max_lines:
            break
    return " ".join(parts) if parts else None


def find_spans_label(text: str, label: str) -> bool:
    return any(sp.label == label for sp in find_spans(text))


def find_date(lines: list[str]) -> str | None:
    for t in lines:
        for sp in find_spans(t):
            if sp.label == "DATE" and normalize_date(t[sp.start:sp.end]) is not None:
                return t[sp.start:sp.end]
    return None


def find_total(lines: list[str]) -> str | None:
    best: tuple[int, int, str] | None = None
    for i, t in enumerate(lines):
        score = next((s for s, pat in TOTAL_KEYS if pat.search(t)), 0) if len(t.split()) <= TOTAL_MAX_TOKENS else 0
        if not score:
            continue
        amount = None
        for cand in [t] + lines[i + 1:i + 3]:
            m = _AMOUNT.findall(cand)
            if m:
                amount = m[-1]
                break
        if amount is not None and (best is None or score > best[0] or (score == best[0] and i > best[1])):
            best = (score, i, amount)
    if best is None:
        return None
    return re.sub(r"^(RM|\$|₩)\s?", "", best[2].strip())


def receipt_fields(page: Page) -> dict[str, str]:
    """company / date / address / total as written; missing fields are left out."""
    lines = [t for t in rows_of(page) if t.strip()]
    out: dict[str, str] = {}
    company = find_company(lines)
    if company:
        out["company"] = company[1]
        address = find_address(lines, company[0])
        if address:
            out["address"] = address
    date, total = find_date(lines), find_total(lines)
    if date:
        out["date"] = date
    if total:
        out["total"] = total
    return out


def normalised_fields(fields: dict[str, str]) -> dict[str, str]:
    out = dict(fields)
    if "date" in fields and normalize_date(fields["date"]):
        out["date"] = normalize_date(fields["date"])
    if "total" in fields and normalize_amount(fields["total"]):
        out["total"] = normalize_amount(fields["total"])
    return out


def looks_like_receipt(fields: dict[str, str]) -> bool:
    """A page is receipt-like when the rules found both a date and a total-like amount on it."""
    return bool(fields.get("date")) and bool(fields.get("total"))


@dataclass(frozen=True)
class ReceiptFields:
    """Stage: template-free key fields (company, date, address, total) for receipt-like pages that no
    template matched. Runs after TemplateMatcher; a page with a `template_id` keeps its fields untouched,
    and `template_id` stays None on the pages this stage fills."""

    def __call__(self, page: Page) -> Page:
        if page.template_id is not None:
            return page
        fields = receipt_fields(page)
        if not looks_like_receipt(fields):
            return page
        page.fields.update(fields)
        page.meta["fields_source"] = "receipt_rules"
        return page
