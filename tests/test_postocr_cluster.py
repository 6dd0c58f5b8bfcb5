"""Clustering on hand-made word layouts: two columns, a table, a receipt, keys beside / below values,
and a rotated page. Words are placed with exact boxes (10 px per character, 20 px high, 6 px spaces)."""
import numpy as np

from models.geometry import box_to_quad, rotation_matrix_90, transform_quads
from models.postocr.cluster import ClusterConfig, Clusterer, is_key_text, is_label_text
from models.types import Page, Word

CH, H, SP = 10, 20, 6


def make_page(items, width=1000, height=1400) -> Page:
    """items: (text, x, y) phrases; each phrase becomes words separated by single spaces."""
    words = []
    for text, x, y in items:
        for tok in text.split():
            w = len(tok) * CH
            words.append(Word(quad=box_to_quad(x, y, x + w, y + H), text=tok))
            x += w + SP
    return Page(width=width, height=height, words=words)


def texts(page, ids):
    return " ".join(page.words[i].text for i in ids)


def line_texts(page):
    return [ln.text for ln in page.lines]


def pairs(page, kind=None):
    return [(texts(page, p["key"]), texts(page, p["value"])) for p in page.meta["kv_pairs"]
            if kind is None or p["kind"] == kind]


def test_two_columns_read_column_by_column():
    left = ["The quick brown fox", "jumps over the lazy", "dog near the river", "bank at dawn today"]
    right = ["Second column text", "continues down here", "with more words in", "the right hand side"]
    items = [("TITLE OF THE LETTER", 300, 40)]
    items += [(t, 60, 120 + 28 * k) for k, t in enumerate(left)]
    items += [(t, 560, 120 + 28 * k) for k, t in enumerate(right)]
    page = Clusterer()(make_page(items))
    assert line_texts(page) == ["TITLE OF THE LETTER"] + left + right
    assert len(page.blocks) == 3 and all(b.kind == "text" for b in page.blocks)
    order = page.meta["reading_order"]
    assert texts(page, order).startswith("TITLE OF THE LETTER The quick brown fox")
    assert [w.block_id for w in page.words][:1] == [0]


def test_table_rows_read_row_major_and_headers_pair_with_cells():
    xs = (60, 360, 560)
    rows = [("Item", "Qty", "Price"), ("Apple juice", "2", "4.00"), ("Green tea", "1", "2.50"),
            ("Rice cake", "3", "9.00")]
    items = [(cell, x, 100 + 30 * r) for r, row in enumerate(rows) for cell, x in zip(row, xs)]
    page = Clusterer()(make_page(items))
    assert [b.kind for b in page.blocks] == ["table"]
    assert line_texts(page) == [c for row in rows for c in row]
    table = pairs(page, "table")
    assert ("Qty", "2") in table and ("Qty", "3") in table and ("Price", "9.00") in table
    assert ("Item", "Green tea") in table and len(table) == 9


def test_receipt_rows_split_at_wide_gaps_and_total_pairs():
    rows = [("Coffee", "4.50"), ("Bagel", "3.00"), ("TOTAL:", "7.50")]
    items = [("MY CAFE SDN BHD", 80, 30)]
    for r, (name, price) in enumerate(rows):
        items += [(name, 20, 90 + 26 * r), (price, 330 - len(price) * CH, 90 + 26 * r)]
    page = Clusterer()(make_page(items, width=360, height=300))
    assert line_texts(page) == ["MY CAFE SDN BHD", "Coffee", "4.50", "Bagel", "3.00", "TOTAL:", "7.50"]
    assert ("TOTAL:", "7.50") in pairs(page, "field")


def test_key_beside_and_key_below_value():
    items = [("Name:", 60, 100), ("John Smith", 200, 100),
             ("Address:", 60, 200), ("12 Main Street", 60, 226), ("Springfield 12345", 60, 252),
             ("Date", 560, 100), ("2024. 3. 5.", 660, 100)]
    page = Clusterer()(make_page(items))
    kv = pairs(page, "field")
    assert ("Name:", "John Smith") in kv
    assert ("Address:", "12 Main Street Springfield 12345") in kv        # value below, two lines
    assert ("Date", "2024. 3. 5.") in kv                                  # key word without colon
    assert len(page.links) == len(page.meta["kv_pairs"])
    k, v = page.links[0]
    assert page.words[k].text == "Name:" and page.words[v].text == "John"


def test_no_pairs_in_plain_prose():
    items = [(t, 60, 100 + 28 * k) for k, t in enumerate(["It was a calm day and", "nobody said anything"])]
    page = Clusterer()(make_page(items))
    assert page.meta["kv_pairs"] == [] and len(page.blocks) == 1


def test_rotated_page_clusters_like_upright():
    items = [("Name:", 60, 100), ("John Smith", 200, 100), ("Phone:", 60, 140), ("010-1234-5678", 200, 140)]
    upright = Clusterer()(make_page(items))
    rotated = make_page(items)
    m, (w, h) = rotation_matrix_90(1, rotated.width, rotated.height)
    for word in rotated.words:              # corner order is kept: TL stays the text's top-left
        word.quad = transform_quads(word.quad, m)
    rotated.width, rotated.height = w, h
    Clusterer()(rotated)
    assert line_texts(rotated) == line_texts(upright)
    assert pairs(rotated) == pairs(upright) == [("Name:", "John Smith"), ("Phone:", "010-1234-5678")]


def test_small_skew_keeps_lines():
    items = [("alpha beta gamma", 60, 100), ("delta epsilon", 60, 130)]
    page = make_page(items)
    t = np.radians(4.0)
    m = np.array([[np.cos(t), -np.sin(t), 50], [np.sin(t), np.cos(t), 0]])
    for word in page.words:
        word.quad = transform_quads(word.quad, m)
    Clusterer()(page)
    assert line_texts(page) == ["alpha beta gamma", "delta epsilon"]


def test_key_text_detection():
    assert is_key_text("Total:") and is_key_text("부서(Department)") and is_key_text("사업자등록번호")
    assert is_key_text("INVOICE NO")
    assert not is_key_text("The weather is nice") and not is_key_text("12,000")


def test_config_is_frozen_and_empty_page_is_fine():
    cfg = ClusterConfig()
    try:
        cfg.word_gap = 3.0
        raise AssertionError("config must be frozen")
    except AttributeError:
        pass
    page = Clusterer(cfg)(Page(width=10, height=10))
    assert page.lines == [] and page.links == []


def test_ticked_box_and_time_fragments():
    items = [("X", 60, 100), ("FULL PRICE", 90, 100), ("10:", 500, 300), ("55", 530, 300)]
    page = Clusterer()(make_page(items))
    assert pairs(page) == [("FULL PRICE", "X")]
    assert not is_key_text("10:") and is_key_text("Fax No.:")


def test_cells_cut_at_header_columns_and_wrapped_cells_continue():
    # "Rosen" and the phone number sit 16 px apart: one line and one segment (narrower than a segment gap)
    # until the header row above says they are in two columns; "& Katz" wraps the company cell.
    items = [("Recipient(s):", 60, 100), ("Company:", 300, 100), ("Phone No.:", 540, 100), ("Fax No.:", 760, 100),
             ("Mr. A. Smith", 60, 140), ("Wachtell, Lipton, Rosen", 300, 140), ("(212) 403-1000", 538, 140),
             ("(212) 403-2000", 760, 140), ("& Katz", 300, 166),
             ("Mr. B. Jones", 60, 200), ("Davis Polk", 300, 200), ("(212) 450-4000", 540, 200),
             ("(212) 450-4800", 760, 200)]
    page = Clusterer()(make_page(items))
    assert "Wachtell, Lipton, Rosen (212) 403-1000" in line_texts(page)
    table = pairs(page, "table")
    assert ("Company:", "Wachtell, Lipton, Rosen & Katz") in table
    assert ("Phone No.:", "(212) 403-1000") in table and ("Phone No.:", "(212) 450-4000") in table
    assert ("Recipient(s):", "Mr. A. Smith") in table and ("Company:", "Davis Polk") in table
    assert ("Fax No.:", "(212) 450-4800") in table and len(table) == 8


def test_label_column_pairs_heading_labels_but_not_prose_columns():
    form = [("MEDIA TYPE", "DIRECT MAIL"), ("BRAND APPLICABLE", "OLD GOLD"), ("COUPON VALUE", "$1.00 OFF PACK")]
    items = [(t, x, 100 + 34 * r) for r, row in enumerate(form) for t, x in zip(row, (60, 360))]
    kv = pairs(Clusterer()(make_page(items)), "field")
    assert sorted(kv) == sorted(form)
    prose = [("we met the team", "and talked at length"), ("about the plan for", "the next two years"),
             ("and then we went", "home for the night")]
    items = [(t, x, 100 + 34 * r) for r, row in enumerate(prose) for t, x in zip(row, (60, 360))]
    assert pairs(Clusterer()(make_page(items)), "field") == []
    two = form[:2]                                     # two rows are not yet a column
    items = [(t, x, 100 + 34 * r) for r, row in enumerate(two) for t, x in zip(row, (60, 360))]
    assert pairs(Clusterer()(make_page(items)), "field") == []


def test_list_markers_are_not_labels():
    assert not is_label_text("C.") and not is_label_text("(a)") and not is_label_text("iv)")
    assert is_label_text("Co") and is_label_text("MEDIA TYPE")
    items = [("C.", 60, 100), ("Poor printing will not be paid for.", 100, 100),
             ("D.", 60, 130), ("Advise us at once if unclear.", 100, 130)]
    assert pairs(Clusterer()(make_page(items))) == []


def test_values_of_stacked_keys_stay_apart():
    # the two values are stacked and centred like a two-line header, but each has its own key
    items = [("MESSAGE TO:", 60, 100), ("Dewey Tedder", 200, 100),
             ("COMPANY:", 60, 124), ("Lorillard Tobacco", 200, 124)]
    kv = pairs(Clusterer()(make_page(items)), "field")
    assert sorted(kv) == [("COMPANY:", "Lorillard Tobacco"), ("MESSAGE TO:", "Dewey Tedder")]


def test_rows_of_key_value_fields_are_not_a_table_header():
    items = [("Company:", 60, 100), ("Acme Trading", 200, 100), ("Company:", 560, 100), ("Beta Works", 700, 100),
             ("Phone:", 60, 130), ("02-555-0101", 200, 130), ("Phone:", 560, 130), ("02-555-0199", 700, 130)]
    page = Clusterer()(make_page(items))
    assert pairs(page, "table") == []
    assert sorted(pairs(page, "field")) == [("Company:", "Acme Trading"), ("Company:", "Beta Works"),
                                            ("Phone:", "02-555-0101"), ("Phone:", "02-555-0199")]


def test_label_under_a_column_of_values_starts_a_new_header_row():
    items = [("Fax Number", 60, 100), ("Voice Number", 360, 100),
             ("910-335-7077", 60, 126), ("910-335-7720", 360, 126),
             ("Sender", 60, 152), ("Reference", 360, 152),
             ("212-450-5578", 60, 178), ("17560-188", 360, 178)]
    table = pairs(Clusterer()(make_page(items)), "table")
    assert sorted(table) == [("Fax Number", "910-335-7077"), ("Reference", "17560-188"),
                             ("Sender", "212-450-5578"), ("Voice Number", "910-335-7720")]


def test_sideways_stamp_is_not_a_value():
    page = make_page([("Total:", 60, 100)])
    upright = make_page([("Total:", 60, 100), ("83635935", 140, 100)])
    page.words.append(Word(quad=box_to_quad(140, 60, 162, 166), text="83635935"))      # printed sideways
    assert pairs(Clusterer()(page)) == []
    assert pairs(Clusterer()(upright)) == [("Total:", "83635935")]


def test_given_lines_are_kept_and_incomplete_ones_are_regrouped():
    from models.types import GIVEN_LINES, Line
    items = [("Amount due 12.50", 20, 40), ("Paid by card", 20, 80)]
    grouped = line_texts(Clusterer()(make_page(items)))
    assert grouped == ["Amount due 12.50", "Paid by card"]
    page = make_page(items)           # given: "Amount due" and "12.50" as two lines of one row
    page.lines = [Line(quad=page.words[0].quad, word_ids=[0, 1]), Line(quad=page.words[2].quad, word_ids=[2]),
                  Line(quad=page.words[3].quad, word_ids=[3, 4, 5])]
    page.meta[GIVEN_LINES] = True
    assert sorted(line_texts(Clusterer()(page))) == sorted(["Amount due", "12.50", "Paid by card"])
    page = make_page(items)           # given lines that miss a word are not a grouping: the words are grouped
    page.lines = [Line(quad=page.words[0].quad, word_ids=[0, 1])]
    page.meta[GIVEN_LINES] = True
    assert line_texts(Clusterer()(page)) == grouped
