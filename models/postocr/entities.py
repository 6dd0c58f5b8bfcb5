"""Named entities: rules + validators, an optional learned word tagger, and PII masking.

Rules run on the text of each line (words joined by single spaces, so a pattern may span words, e.g.
"RM 193.00") and on key -> value pairs from clustering (the value of a "성명:" / "Name:" key is a PERSON).
Every match becomes an `Entity` whose `word_ids` are the words its characters touch, `value` is
normalised and `valid` checked by `models.postocr.normalize.normalize`.
Patterns that have a checksum (RRN, BRN, CARD) are kept only when valid unless the line's key names the
type (then an invalid number is reported with valid=False, which is what a reviewer wants to see).
With the learned tagger (models/postocr/tagger.py) the two are combined by type: for the exact-format types
in RULE_FIRST the rule entity wins; PERSON, ORG, ADDRESS, DATE and MONEY come from the tagger only (rule
entities of the types in `rule_fill` may fill words it left untagged; none by default - on held-out synthetic
pages the filling rules cost precision). Without tagger weights every type comes from the rules.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from models.postocr.normalize import normalize
from models.types import Entity, Page

# (label, pattern): order is priority when two matches overlap with the same length
PATTERNS: tuple[tuple[str, re.Pattern], ...] = tuple((lab, re.compile(p, re.IGNORECASE)) for lab, p in (
    ("EMAIL", r"(?<![\w.@])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"),
    ("URL", r"(?<![\w@])(?:https?://|www\.)[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+(?:/[^\s]*)?"),
    ("RRN", r"(?<!\d)\d{6}\s?-\s?[1-8]\d{6}(?!\d)"),
    ("BRN", r"(?<!\d)\d{3}\s?-\s?\d{2}\s?-\s?\d{5}(?!\d)"),
    ("CARD", r"(?<!\d)(?:\d{4}[\s\-]){3}\d{4}(?!\d)|(?<!\d)\d{4}[\s\-]\d{6}[\s\-]\d{5}(?!\d)"),
    ("PHONE", r"(?<![\w\-.])(?:\+\d{1,3}[\s\-]?)?(?:\(?0\d{1,2}\)?[\s\-]?\d{3,4}[\s\-]\d{4}"
              r"|01[016789][\s\-]?\d{3,4}[\s\-]?\d{4}|1[5-9]\d{2}-\d{4}"
              r"|(?:00\d[\-.\s])?\(?[2-9]\d{2}\)?[\-.\s]?\d{3}[\-.]\d{4}(?:\s?x\d{1,6})?)(?![\w\-])"),
    ("ACCOUNT", r"(?<![\d\-])(?=(?:\d-?){11,16}(?![\d\-]))\d{3,6}-\d{2,6}-\d{2,8}(?:-\d{1,3})?(?![\d\-])"),
    ("DATE", r"\d{4}\s*년\s*\d{1,2}\s*월\s*\d{1,2}\s*일"
             r"|(?<!\d)\d{4}\s?[./\-]\s?\d{1,2}\s?[./\-]\s?\d{1,2}\.?(?!\d)"
             r"|(?<![\d/.\-])\d{1,2}[./\-]\d{1,2}[./\-](?:\d{4}|\d{2})(?![\d/.]|-(?!\d{1,2}:))"
             r"|\b\d{1,2}[\s\-]?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?[\s\-]?(?:\d{4}|\d{2})\b"
             r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s\d{1,2},?\s\d{4}\b"),
    ("TIME", r"(?:오전|오후)\s?\d{1,2}\s?(?::|시\s?)\d{2}(?:\s?분)?"
             r"|(?<![\d:])\d{1,2}:\d{2}(?::\d{2})?(?:\s?[ap]\.?m\.?)?(?![\d:])|\d{1,2}시\s?\d{1,2}분"),
    ("MONEY", r"(?:[₩$€£]|\bRM|\bKRW|\bUSD|\bMYR)\s?-?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?:\s?원)?"
              r"|(?:[₩$€£]|\bRM|\bKRW|\bUSD|\bMYR)\s?-?\d+(?:\.\d+)?(?:\s?원)?"
              r"|(?<![\d.,])-?\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?\s?원|(?<![\d.,])-?\d+\s?원"
              r"|(?<![\d.,:/\-])-?\d{1,3}(?:,\d{3})*\.\d{2}(?![\d.,%/\-])"
              r"|(?<![\d.,:/\-])-?\d{1,3}(?:,\d{3})+(?![\d.,%/\-])"),
    ("ADDRESS", r"(?:서울|부산|대구|인천|광주|대전|울산|세종|경기|강원|충청|충북|충남|전라|전북|전남|경상|경북|경남|제주)"
                r"[가-힣]*(?:\s[가-힣0-9]+){1,5}?\s[가-힣0-9]+(?:로|길)(?:\s?\d+(?:-\d+)?(?:번길\s?\d+(?:-\d+)?)?)"
                r"(?:\s?\d+(?:-\d+)?)?(?:,?\s?\(?[가-힣0-9]+(?:동|층|호)\)?)*"),
    ("ORG", r"(?:주식회사|\(주\)|㈜)\s?[가-힣A-Za-z0-9]+(?:\s[가-힣]+)?|[가-힣A-Za-z0-9]+(?:\s[가-힣A-Za-z0-9]+)?\s?(?:\(주\)|㈜|주식회사)"
            r"|\b[A-Z0-9][\w&.'\-]*(?:\s[\w&.'\-]+){0,5}\s(?:SDN\.?\s?BHD|BHD|INC|LTD|LLC|CORP|CO\.,?\sLTD)\b\.?"),
))

# keys whose value is an entity of a type the patterns cannot see (names, companies, addresses)
KEY_TYPES: tuple[tuple[str, re.Pattern], ...] = tuple((lab, re.compile(p, re.IGNORECASE)) for lab, p in (
    ("PERSON", r"(성명|이름|대표자|담당자|예금주|받는\s?사람|보내는\s?사람|name|cashier|attn|from|to|"
               r"customer|salesperson|sales person)\s*[:：]?$"),
    ("ORG", r"(상호|회사명|법인명|공급자|공급받는자|거래처|company|merchant|vendor|bill to)\s*[:：]?$"),
    ("ADDRESS", r"(주소|사업장\s?주소|소재지|address|addr\.?)\s*[:：]?$"),
    ("RRN", r"(주민등록번호|주민번호)\s*[:：]?$"),
    ("BRN", r"(사업자등록번호|사업자\s?번호|등록번호|brn|roc no\.?|business reg.*)\s*[:：]?$"),
    ("ACCOUNT", r"(계좌번호|계좌|account(?: no\.?)?)\s*[:：]?$"),
    ("CARD", r"(카드번호|card(?: no\.?)?)\s*[:：]?$"),
))

CHECKSUM_TYPES = ("RRN", "BRN", "CARD")
# with a learned tagger: rule entities of these types win (exact formats, checksums); for the others the
# tagger's spans win and rules only fill the words it left untagged
RULE_FIRST: tuple[str, ...] = ("RRN", "BRN", "CARD", "EMAIL", "URL", "PHONE", "ACCOUNT", "TIME")
PII_TYPES: tuple[str, ...] = ("RRN", "CARD", "ACCOUNT", "PHONE", "EMAIL")


@dataclass(frozen=True)
class Span:
    label: str
    start: int      # character offsets in the line text
    end: int


def line_text_offsets(page: Page, word_ids: list[int]) -> tuple[str, list[tuple[int, int]]]:
    """Line text (words joined by one space) and each word's (start, end) in it."""
    parts, offsets, pos = [], [], 0
    for i in word_ids:
        t = page.words[i].text
        offsets.append((pos, pos + len(t)))
        parts.append(t)
        pos += len(t) + 1
    return " ".join(parts), offsets


def find_spans(text: str) -> list[Span]:
    """Non-overlapping pattern matches, longest first, then by pattern priority."""
    cands = []
    for prio, (label, pat) in enumerate(PATTERNS):
        for m in pat.finditer(text):
            s, e = m.start(), m.end()
            while e > s and text[e - 1] in " ,;":
                e -= 1
            if e > s:
                cands.append((-(e - s), prio, s, e, label))
    cands.sort()
    taken: list[Span] = []
    for _, _, s, e, label in cands:
        if all(e <= t.start or s >= t.end for t in taken):
            taken.append(Span(label, s, e))
    return sorted(taken, key=lambda sp: sp.start)


def _words_of_span(offsets: list[tuple[int, int]], word_ids: list[int], span: Span) -> list[int]:
    return [w for w, (s, e) in zip(word_ids, offsets) if s < span.end and e > span.start]


def _entity(page: Page, label: str, word_ids: list[int], text: str) -> Entity:
    value, valid = normalize(label, text)
    return Entity(label=label, text=text, word_ids=list(word_ids), value=value, valid=valid)


def rule_entities(page: Page) -> list[Entity]:
    """Pattern entities per line plus key-typed values from `page.meta["kv_pairs"]`."""
    lines = [ln.word_ids for ln in page.lines] or [list(range(len(page.words)))]
    keyed = _key_typed_values(page)          # word id -> label named by its key
    out: list[Entity] = []
    for word_ids in lines:
        text, offsets = line_text_offsets(page, word_ids)
        for sp in find_spans(text):
            ids = _words_of_span(offsets, word_ids, sp)
            ent = _entity(page, sp.label, ids, text[sp.start:sp.end])
            named = {keyed.get(i) for i in ids}
            if sp.label in CHECKSUM_TYPES and not ent.valid and sp.label not in named:
                if sp.label == "CARD" or not ("ACCOUNT" in named or "PHONE" in named):
                    continue              # an invalid number with no key naming it: not that type
            out.append(ent)
    covered = {i for e in out for i in e.word_ids}
    for label, groups in _keyed_groups(page, keyed).items():
        for ids in groups:
            ids = [i for i in ids if i not in covered]
            if ids:
                out.append(_entity(page, label, ids, " ".join(page.words[i].text for i in ids)))
                covered.update(ids)
    return out


def _key_typed_values(page: Page) -> dict[int, str]:
    out: dict[int, str] = {}
    for kv in page.meta.get("kv_pairs", []):
        key_text = " ".join(page.words[i].text for i in kv["key"]).strip()
        for label, pat in KEY_TYPES:
            if pat.search(key_text):
                for i in kv["value"]:
                    out.setdefault(i, label)
                break
    return out


def _keyed_groups(page: Page, keyed: dict[int, str]) -> dict[str, list[list[int]]]:
    """Values of PERSON/ORG/ADDRESS keys as word groups (one per key -> value pair)."""
    out: dict[str, list[list[int]]] = {}
    for kv in page.meta.get("kv_pairs", []):
        labels = {keyed.get(i) for i in kv["value"]}
        for label in ("PERSON", "ORG", "ADDRESS"):
            if label in labels:
                out.setdefault(label, []).append([i for i in kv["value"] if keyed.get(i) == label])
    return out


def merge_entities(primary: list[Entity], extra: list[Entity]) -> list[Entity]:
    """Entities of `extra` that share no word with `primary` are added (rules first, tagger second)."""
    used = {i for e in primary for i in e.word_ids}
    out = list(primary)
    for e in extra:
        if not used.intersection(e.word_ids):
            out.append(e)
            used.update(e.word_ids)
    return sorted(out, key=lambda e: min(e.word_ids) if e.word_ids else -1)


def salted_hash(value: str, salt: str) -> str:
    return "sha256:" + hashlib.sha256((salt + "\x00" + value).encode("utf-8")).hexdigest()


def mask_text(text: str) -> str:
    """Replace letters and digits by '*', keeping separators (so the layout stays readable)."""
    return re.sub(r"[0-9A-Za-z가-힣]", "*", text)


def mask_pii(page: Page, entities: list[Entity], salt: str, types: tuple[str, ...] = PII_TYPES) -> None:
    """Mask the words of PII entities in place (word text, line text, entity text); the entity keeps
    a salted hash of its normalised value in `value`."""
    if not salt:
        raise ValueError("PII masking needs a non-empty salt (keep it secret; it makes the hashes unguessable)")
    for e in entities:
        if e.label not in types:
            continue
        e.value = salted_hash(e.value or e.text, salt)
        e.text = mask_text(e.text)
        for i in e.word_ids:
            page.words[i].text = mask_text(page.words[i].text)
    masked = sorted({i for e in entities if e.label in types for i in e.word_ids})
    for ln in page.lines:
        if set(ln.word_ids).intersection(masked):     # a line read as one crop holds the PII too: its words
            ln.text = " ".join(page.words[i].text for i in ln.word_ids)
    page.meta["pii_masked_words"] = masked


@dataclass
class EntityTagger:
    """Stage: `page.entities` from rules (+ the learned tagger when given); optional PII masking.

    pii_mask: mask identifiers (PII_TYPES) in the stored text, keeping a salted hash in the entity's
              value; off by default. salt: required when pii_mask is on.
    """
    tagger: object | None = None            # models.postocr.tagger.WordTagger or None (rules only)
    rule_first: tuple[str, ...] = RULE_FIRST  # labels where a rule entity beats the tagger's
    rule_fill: tuple[str, ...] = ()           # other labels whose rule entities fill words the tagger left
    pii_mask: bool = False
    salt: str = ""
    pii_types: tuple[str, ...] = field(default=PII_TYPES)

    def __post_init__(self) -> None:
        if self.pii_mask and not self.salt:
            raise ValueError("EntityTagger(pii_mask=True) needs a non-empty salt")

    def __call__(self, page: Page) -> Page:
        ents = rule_entities(page)
        if self.tagger is not None:
            strong = [e for e in ents if e.label in self.rule_first]
            weak = [e for e in ents if e.label in self.rule_fill and e.label not in self.rule_first]
            ents = merge_entities(merge_entities(strong, self.tagger.entities(page)), weak)
        page.entities = ents
        if self.pii_mask:
            mask_pii(page, ents, self.salt, self.pii_types)
        return page
