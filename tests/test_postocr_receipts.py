"""Template-free receipt fields on a hand-made receipt (rows of text segments)."""
import numpy as np

from models.postocr.cluster import Clusterer
from models.postocr.receipts import ReceiptFields, normalised_fields, receipt_fields
from tests.test_postocr_cluster import make_page


MALAY = [("*** COPY ***",), ("KEDAI MAJU SDN BHD (123456-X)",), ("NO 2, JALAN BAYU 4,",), ("81750 MASAI, JOHOR",),
         ("TEL: 07-388 2218",), ("DATE: 15/01/2019 11:05",), ("COFFEE", "4.50"), ("SUBTOTAL", "16.50"),
         ("SERVICE", "1.00")]
KOREAN = [("(유) 라온",), ("사업자등록번호: 715-92-33705",), ("대표자: 조하은",), ("주소: 전라남도 양주시 개포가 678",),
          ("전화번호: 02-716-1969",), ("95.05.08 23:44:19",), ("품목 수량 금액",), ("국산 읍 3", "52,200"),
          ("(특)마트 6", "72,000"), ("공급가액", "292,455"), ("부가세", "29,245")]


def receipt(total_line=("TOTAL:", "17.50"), rows=MALAY, tail=(("CASH", "20.00"),), skew_degrees=0.0):
    rows = list(rows) + [total_line] + list(tail)
    items = []
    for r, row in enumerate(rows):
        items.append((row[0], 20, 30 + 26 * r))
        if len(row) > 1:
            items.append((row[1], 400 - len(row[1]) * 10, 30 + 26 * r))
    page = make_page(items, width=420, height=400)
    t = np.radians(skew_degrees)
    for w in page.words:                # a scan turned by the skew about the page's top-left corner
        w.quad = w.quad @ np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])
    return Clusterer()(page)


def test_receipt_fields_as_written_and_normalised():
    fields = receipt_fields(receipt())
    assert fields == {"company": "KEDAI MAJU SDN BHD", "address": "NO 2, JALAN BAYU 4, 81750 MASAI, JOHOR",
                      "date": "15/01/2019", "total": "17.50"}
    assert normalised_fields(fields)["date"] == "2019-01-15"


def test_grand_total_beats_subtotal_and_missing_total_is_left_out():
    assert receipt_fields(receipt(("GRAND TOTAL", "RM 17.50")))["total"] == "17.50"
    assert "total" not in receipt_fields(receipt(("THANK YOU",)))


def test_korean_receipt_fields():
    fields = receipt_fields(receipt(("합계", "321,700"), rows=KOREAN, tail=(("카드번호: 4813-2522-0921-6189",),)))
    assert fields == {"company": "(유) 라온", "address": "전라남도 양주시 개포가 678", "date": "95.05.08",
                      "total": "321,700"}
    assert normalised_fields(fields) == {**fields, "date": "1995-05-08", "total": "321700"}


def test_skewed_receipt_keeps_amounts_on_their_rows():
    """Turned 3 degrees, the amounts at the right edge sit half a row off their keys' height."""
    assert receipt_fields(receipt(skew_degrees=3.0))["total"] == "17.50"
    assert receipt_fields(receipt(skew_degrees=-3.0))["total"] == "17.50"


def letter():
    rows = ["Dear Ms Park,", "Thank you for your letter about the", "meeting next month. We will send the",
            "agenda soon.", "Kind regards,", "J. Kim"]
    return Clusterer()(make_page([(t, 20, 30 + 26 * r) for r, t in enumerate(rows)], width=420, height=400))


def test_receipt_stage_fills_unmatched_receipt_pages_only():
    page = ReceiptFields()(receipt())
    assert page.fields == {"company": "KEDAI MAJU SDN BHD", "address": "NO 2, JALAN BAYU 4, 81750 MASAI, JOHOR",
                           "date": "15/01/2019", "total": "17.50"}
    assert page.template_id is None and page.meta["fields_source"] == "receipt_rules"
    other = ReceiptFields()(letter())
    assert other.fields == {} and "fields_source" not in other.meta
    no_total = ReceiptFields()(receipt(("THANK YOU",)))          # a date but no total: not receipt-like
    assert no_total.fields == {} and "fields_source" not in no_total.meta
    prose = ["Dear Ms Park, on 15/01/2019 we paid the total of 1,250.00 that our office",
             "owed you for the meeting rooms, as agreed with your team last year."]
    mention = Clusterer()(make_page([(t, 20, 30 + 26 * r) for r, t in enumerate(prose)], width=900, height=400))
    assert ReceiptFields()(mention).fields == {}                # "total" inside a sentence is not a total row


def test_receipt_stage_keeps_template_fields():
    page = receipt()
    page.template_id, page.fields = "kr_invoice", {"total": "9,900"}
    ReceiptFields()(page)
    assert page.fields == {"total": "9,900"} and "fields_source" not in page.meta
