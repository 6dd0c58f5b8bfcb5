"""Metrics on hand-made predictions whose answers are worked out by hand."""
import math

import numpy as np
import pytest

from models.eval.fields import field_counts, link_counts, normalize_field
from models.eval.metrics import cer, detection_prf, match_quads, paired_edits_bootstrap, prf, text_scores
from models.eval.pages import EvalConfig, aggregate, evaluate_page, page_units, reading_order
from models.geometry import box_to_quad
from models.types import Entity, Line, Page, Word


def rotated_rect(cx, cy, w, h, deg):
    """Quad TL, TR, BR, BL of a w x h rectangle centred at (cx, cy), reading direction `deg` clockwise."""
    t = math.radians(deg)
    d, n = np.array([math.cos(t), math.sin(t)]), np.array([-math.sin(t), math.cos(t)])
    c = np.array([cx, cy])
    return np.array([c - d * w / 2 - n * h / 2, c + d * w / 2 - n * h / 2,
                     c + d * w / 2 + n * h / 2, c - d * w / 2 + n * h / 2], np.float32)


def page_of(items, width=400, height=300, **kw):
    """Page from (x0, y0, x1, y1, text) tuples."""
    return Page(width=width, height=height, words=[Word(quad=box_to_quad(*b[:4]), text=b[4]) for b in items], **kw)


GT = [(10, 10, 60, 30, "Hello"), (70, 10, 130, 30, "world"), (10, 50, 90, 70, "Total:"), (100, 50, 150, 70, "12.50")]


# ------------------------------------------------------------------------------------------ detection
def test_perfect_prediction_scores_one():
    q = [box_to_quad(*b[:4]) for b in GT]
    assert detection_prf(q, q) == {"precision": 1.0, "recall": 1.0, "hmean": 1.0, "tp": 4, "n_pred": 4, "n_gt": 4}


def test_empty_prediction_and_empty_gt():
    q = [box_to_quad(*b[:4]) for b in GT]
    empty = detection_prf([[]], [q])
    assert (empty["precision"], empty["recall"], empty["hmean"], empty["n_gt"]) == (0.0, 0.0, 0.0, 4)
    assert detection_prf([[]], [[]])["hmean"] == 1.0
    assert detection_prf([q], [[]])["precision"] == 0.0


def test_shifted_boxes_cross_the_iou_threshold():
    gt = [box_to_quad(0, 0, 10, 10)]
    # shift 2 px: overlap 8x10 = 80, union 120 -> IoU 2/3 (match); shift 5 px: 50 / 150 = 1/3 (no match)
    (pi, gi, iou), = match_quads([box_to_quad(2, 0, 12, 10)], gt)
    assert (pi, gi) == (0, 0) and iou == pytest.approx(2 / 3, abs=1e-4)
    assert match_quads([box_to_quad(5, 0, 15, 10)], gt) == []
    assert detection_prf([box_to_quad(5, 0, 15, 10)], gt, iou=0.3)["tp"] == 1


def test_rotated_quads_use_polygon_iou():
    gt = rotated_rect(100, 100, 40, 10, 30)
    # the same rectangle moved 10 px along its own reading direction: overlap 30x10, union 50x10 -> 0.6
    t = math.radians(30)
    moved = rotated_rect(100 + 10 * math.cos(t), 100 + 10 * math.sin(t), 40, 10, 30)
    (_, _, iou), = match_quads([moved], [gt])
    assert iou == pytest.approx(0.6, abs=1e-3)
    # the axis-aligned box around a 45-degree square has twice its area -> IoU exactly 0.5
    square = rotated_rect(50, 50, 20, 20, 45)
    lo, hi = square.min(axis=0), square.max(axis=0)
    (_, _, iou), = match_quads([box_to_quad(lo[0], lo[1], hi[0], hi[1])], [square])
    assert iou == pytest.approx(0.5, abs=1e-3)


def test_matching_is_one_to_one_and_prefers_the_higher_iou():
    gt = [box_to_quad(0, 0, 10, 10)]
    preds = [box_to_quad(1, 0, 11, 10), box_to_quad(0, 0, 10, 10)]
    assert match_quads(preds, gt) == [(1, 0, 1.0)]
    assert detection_prf(preds, gt) == prf(1, 2, 1)


def test_bad_input_raises():
    with pytest.raises(ValueError):
        match_quads([np.zeros((3, 2))], [box_to_quad(0, 0, 1, 1)])
    with pytest.raises(ValueError):
        detection_prf([[], []], [[]])
    with pytest.raises(ValueError):
        EvalConfig(casefold="maybe")


# ------------------------------------------------------------------------------------------ text
def test_cer_and_word_accuracy():
    assert cer("abd", "abc") == pytest.approx(1 / 3)
    assert cer("", "") == 0.0 and cer("x", "") == 1.0
    s = text_scores([("Helo", "Hello"), ("world", "world"), ("", "ab")])
    assert (s.edits, s.gt_chars, s.n_pairs) == (3, 12, 3)
    assert s.cer == pytest.approx(3 / 12) and s.word_acc == pytest.approx(1 / 3)
    assert math.isnan(text_scores([]).cer)


def test_wrong_text_keeps_detection_but_not_end_to_end():
    gt = page_of(GT)
    pred = page_of([b[:4] + (b[4] + "x",) for b in GT])
    r = evaluate_page(pred, gt)
    m = aggregate([r])
    assert m["det"]["hmean"] == 1.0 and m["e2e"]["hmean"] == 0.0
    assert m["rec"]["cer"] == pytest.approx(4 / sum(len(b[4]) for b in GT))
    assert m["rec"]["word_acc"] == 0.0 and m["bow"]["tp"] == 0


def test_page_cer_ignores_listing_order_but_counts_spaces_separately():
    gt = page_of(GT)
    shuffled = page_of([GT[3], GT[1], GT[0], GT[2]])
    r = evaluate_page(shuffled, gt)
    assert r.page_cer == 0.0 and r.e2e_hmean == 1.0
    # two words read as one: one missing space -> page CER > 0, page CER without spaces = 0
    merged = page_of([(10, 10, 130, 30, "Helloworld"), *GT[2:]])
    m = aggregate([evaluate_page(merged, gt)])
    assert m["page_cer"] == pytest.approx(1 / len("Hello world Total: 12.50"))
    assert m["page_cer_nospace"] == 0.0


def test_reading_order_rows_then_columns():
    quads = [box_to_quad(100, 52, 150, 70), box_to_quad(10, 10, 60, 30), box_to_quad(10, 50, 90, 70),
             box_to_quad(70, 12, 130, 30)]
    assert reading_order(quads) == [1, 3, 2, 0]


def test_line_granularity_groups_predicted_words_by_line_id():
    gt = Page(width=400, height=300, meta={"granularity": "line"},
              lines=[Line(quad=box_to_quad(10, 10, 130, 30), word_ids=[], text="HELLO WORLD")])
    pred = page_of(GT[:2])
    for w in pred.words:
        w.line_id = 0
    units = page_units(pred, "line")
    assert [u.text for u in units] == ["Hello world"]
    r = evaluate_page(pred, gt)       # GT is all upper-case -> auto case folding
    assert (r.granularity, r.casefold, r.det_tp, r.e2e_tp) == ("line", True, 1, 1)
    assert evaluate_page(pred, gt, EvalConfig(casefold="no")).e2e_tp == 0


def test_size_mismatch_raises():
    with pytest.raises(ValueError):
        evaluate_page(page_of(GT, width=100), page_of(GT))


# ------------------------------------------------------------------------------------------ fields, links
def test_key_fields_sroie_normalisation():
    gt = page_of([], fields={"company": "OJC MARKETING SDN BHD", "date": "15/01/2019", "total": "193.00",
                             "address": "NO 2, JALAN"})
    pred = page_of([], fields={"company": "ojc  marketing sdn bhd ", "date": "15/01/19", "total": "193.00",
                               "phone": "123"})
    assert normalize_field(" a  b ") == "A B"
    assert field_counts(pred, gt) == (2, 3, 4)          # phone is not a GT key; address not predicted
    assert field_counts(pred, page_of([])) is None
    m = aggregate([evaluate_page(pred, gt)])
    assert m["fields"]["precision"] == pytest.approx(2 / 3) and m["fields"]["recall"] == 0.5
    assert m["links"] is None


def test_links_from_word_pairs_widened_to_entities():
    gt = page_of(GT, meta={"links": [["Hello", "world"], ["Total:", "12. 50"]]})
    pred = page_of(GT)
    pred.entities = [Entity(label="question", text="Total:", word_ids=[2]),
                     Entity(label="answer", text="12.50", word_ids=[3])]
    pred.links = [(2, 3), (0, 3)]
    assert link_counts(pred, gt) == (1, 2, 2)          # whitespace-free compare: "12. 50" == "12.50"
    pred.links = [(0, 9)]
    with pytest.raises(ValueError):
        link_counts(pred, gt)


def test_link_sources_spans_and_text_pairs():
    gt = page_of(GT, meta={"kv_spans": [[[0], [1]], [[2], [3]]]})        # synthetic GT: word-id spans
    pred = page_of(GT, meta={"kv_pairs": [{"key": [2], "value": [3], "kind": "kv"}]})
    assert link_counts(pred, gt) == (1, 1, 2)
    assert link_counts(pred, page_of(GT)) is None                          # GT without any link source


def test_paired_bootstrap_of_two_readers_edits():
    gts = ["TOTAL", "RM 12.50", "CASH", "CHANGE", "GST 6%"] * 20
    same = paired_edits_bootstrap(gts, gts, gts)
    assert same["ours_minus_theirs_edits"] == 0 and same["ci95"] == [0.0, 0.0] and same["p_ours_lower"] == 0.0
    worse = [g[:-1] for g in gts]                               # one edit on every item
    better = paired_edits_bootstrap(gts, worse, gts)
    assert better["ours_minus_theirs_edits"] == -100 and better["ci95"][1] < 0 and better["p_ours_lower"] == 1.0
    mixed = paired_edits_bootstrap([w if i % 2 else g for i, (w, g) in enumerate(zip(worse, gts))], gts, gts)
    assert mixed["ci95"][0] > 0 and mixed["ours_minus_theirs_edits"] == 50
    noisy = paired_edits_bootstrap([w if i % 7 == 0 else g for i, (w, g) in enumerate(zip(worse, gts))],
                                   [w if i % 7 == 3 else g for i, (w, g) in enumerate(zip(worse, gts))], gts)
    assert noisy["ci95"][0] < 0 < noisy["ci95"][1]              # as many misreads each: no winner
    assert paired_edits_bootstrap(["total"], ["TOTAL"], ["TOTAL"], casefold=True)["ours_minus_theirs_edits"] == 0
    with pytest.raises(ValueError):
        paired_edits_bootstrap(["a"], ["a", "b"], ["a"])
