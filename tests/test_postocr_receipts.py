"""Template-free receipt fields on a hand-made receipt (rows of text segments)."""
from models.postocr.cluster import Clusterer
from models.postocr.receipts import ReceiptFields, normalised_fields, receipt_fields
from tests.test_postocr_cluster import make_page


def receipt(total_line=("TOTAL:", "17.50")):
    rows = [("*** COPY ***",), ("KEDAI MAJU SDN BHD (123456-X)",), ("NO 2, JALAN BAYU 4,",),
            ("81750 MASAI, JOHOR",), ("TEL: 07-388 2218",), ("DATE: 15/01/2019 11:05",),
            ("COFFEE", "4.50"), ("SUBTOTAL", "16.50"), ("SERVICE", "1.00"), total_line, ("CASH", "20.00")]
    items = []
    for r, row in enumerate(rows):
        items.append((row[0], 20, 30 + 26 * r))
        if len(row) > 1:
            items.append((row[1], 400 - len(row[1]) * 10, 30 + 26 * r))
    return Clusterer()(make_page(items, width=420, height=400))


def test_receipt_fields_as_written_and_normalised():
    fields = receipt_fields(receipt())
    assert fields == {"company": "KEDAI MAJU SDN BHD", "address": "NO 2, JALAN BAYU 4, 81750 MASAI, JOHOR",
                      "date": "15/01/2019", "total": "17.50"}
    assert normalised_fields(fields)["date"] == "2019-01-15"


def test_grand_total_beats_subtotal_and_missing_total_is_left_out():
    assert receipt_fields(receipt(("GRAND TOTAL", "RM 17.50")))["total"] == "17.50"
    assert "total" not in receipt_fields(receipt(("THANK YOU",)))


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


def test_receipt_stage_keeps_template_fields():
    page = receipt()
    page.template_id, page.fields = "kr_invoice", {"total": "9,900"}
    ReceiptFields()(page)
    assert page.fields == {"total": "9,900"} and "fields_source" not in page.meta
