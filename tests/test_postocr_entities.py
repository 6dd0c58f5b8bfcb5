"""Rule entities on hand-made lines, key-typed values, and the PII masking option."""
import pytest

from models.postocr import ids
from models.postocr.cluster import Clusterer
from models.postocr.entities import EntityTagger, find_spans, merge_entities, salted_hash
from models.types import Entity
from tests.test_postocr_cluster import make_page


def spans(text):
    return [(s.label, text[s.start:s.end]) for s in find_spans(text)]


def run(items, **kw):
    return EntityTagger(**kw)(Clusterer()(make_page(items)))


def by_label(page):
    return {(e.label, e.text): e for e in page.entities}


RRN = "900101-123456" + str(ids.rrn_check_digit("900101123456"))


@pytest.mark.parametrize("text, expected", [
    ("TEL: 07-388 2218", [("PHONE", "07-388 2218")]),
    ("합계 ₩12,000", [("MONEY", "₩12,000")]),
    ("RM 9.90", [("MONEY", "RM 9.90")]),
    ("EMAIL:NG@OJCGROUP.COM", [("EMAIL", "NG@OJCGROUP.COM")]),
    ("2024년 3월 5일 오후 3:20", [("DATE", "2024년 3월 5일"), ("TIME", "오후 3:20")]),
    ("www.example.com", [("URL", "www.example.com")]),
    ("OJC MARKETING SDN BHD", [("ORG", "OJC MARKETING SDN BHD")]),
    ("서울특별시 강남구 테헤란로 152", [("ADDRESS", "서울특별시 강남구 테헤란로 152")]),
    ("계좌 110-123-456789", [("ACCOUNT", "110-123-456789")]),
    ("2024-03-05", [("DATE", "2024-03-05")]),
    ("just words here", []),
])
def test_patterns(text, expected):
    assert spans(text) == expected


def test_entities_are_normalised_and_validated_on_a_page():
    page = run([("Date:", 60, 100), ("2024. 3. 5.", 200, 100), ("Total:", 60, 140), ("₩12,000", 200, 140),
                ("Card:", 60, 180), ("4111 1111 1111 1111", 200, 180)])
    ents = by_label(page)
    assert ents[("DATE", "2024. 3. 5.")].value == "2024-03-05" and ents[("DATE", "2024. 3. 5.")].valid
    assert ents[("MONEY", "₩12,000")].value == "12000 KRW"
    card = ents[("CARD", "4111 1111 1111 1111")]
    assert card.valid and card.value == "4111111111111111" and len(card.word_ids) == 4


def test_checksum_types_need_a_valid_number_or_a_key():
    bad = RRN[:-1] + str((int(RRN[-1]) + 1) % 10)
    page = run([("Ref", 60, 100), (bad, 200, 100)])
    assert not [e for e in page.entities if e.label == "RRN"]
    page = run([("주민등록번호:", 60, 100), (bad, 300, 100)])
    rrn = [e for e in page.entities if e.label == "RRN"]
    assert len(rrn) == 1 and rrn[0].valid is False
    page = run([("주민등록번호:", 60, 100), (RRN, 300, 100)])
    assert [e.valid for e in page.entities if e.label == "RRN"] == [True]


def test_key_typed_person_org_address():
    page = run([("성명:", 60, 100), ("김민수", 200, 100), ("Company:", 60, 140), ("Blue Ocean", 200, 140),
                ("주소:", 60, 180), ("서울시 중구 세종대로 110", 200, 180)])
    ents = by_label(page)
    assert ("PERSON", "김민수") in ents and ("ORG", "Blue Ocean") in ents
    assert any(label == "ADDRESS" for label, _ in ents)


def test_pii_masking_is_off_by_default_and_keeps_a_salted_hash():
    items = [("주민등록번호:", 60, 100), (RRN, 300, 100), ("Phone:", 60, 140), ("010-1234-5678", 300, 140)]
    plain = run(items)
    assert RRN in [w.text for w in plain.words]
    masked = run(items, pii_mask=True, salt="pepper")
    assert RRN not in [w.text for w in masked.words] and "******-*******" in [w.text for w in masked.words]
    rrn = next(e for e in masked.entities if e.label == "RRN")
    assert rrn.text == "******-*******" and rrn.value == salted_hash(RRN, "pepper")
    other = next(e for e in run(items, pii_mask=True, salt="salt2").entities if e.label == "RRN")
    assert other.value != rrn.value
    assert all("*" in ln.text or "Phone" in ln.text or "주민" in ln.text for ln in masked.lines)
    with pytest.raises(ValueError, match="salt"):
        EntityTagger(pii_mask=True)


def test_merge_prefers_primary_entities():
    a = Entity("DATE", "x", [1, 2])
    b = Entity("PERSON", "y", [2, 3])
    c = Entity("ORG", "z", [5])
    assert [e.label for e in merge_entities([a], [b, c])] == ["DATE", "ORG"]
