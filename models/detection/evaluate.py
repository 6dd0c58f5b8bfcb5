"""Detector quality over pages: word / character / line P, R, H-mean at IoU 0.5 (models.eval.metrics) and
orientation accuracy (page level, and word level over the matched words)."""
from __future__ import annotations

from typing import Sequence

from models.eval.metrics import IOU_THRESHOLD, detection_prf, match_quads
from models.types import Page


def char_quads(page: Page) -> list:
    return [c.quad for w in page.words for c in w.chars]


def line_quads(page: Page) -> list:
    return [ln.quad for ln in page.lines]


def orientation_scores(preds: Sequence[Page], gts: Sequence[Page], iou: float = IOU_THRESHOLD) -> dict:
    """Page orientation accuracy and word orientation accuracy over word pairs matched at `iou`."""
    pages_ok = sum(p.orientation == g.orientation for p, g in zip(preds, gts))
    words_ok = words_n = 0
    for p, g in zip(preds, gts):
        for i, j, _ in match_quads([w.quad for w in p.words], [w.quad for w in g.words], iou):
            words_n += 1
            words_ok += p.words[i].orientation == g.words[j].orientation
    return {"page_orientation_acc": pages_ok / max(1, len(gts)),
            "word_orientation_acc": words_ok / max(1, words_n), "matched_words": words_n}


def evaluate_pages(preds: Sequence[Page], gts: Sequence[Page], iou: float = IOU_THRESHOLD) -> dict:
    """Flat dict: word_*, char_*, line_* precision / recall / hmean plus orientation accuracies."""
    if len(preds) != len(gts):
        raise ValueError(f"{len(preds)} predicted pages but {len(gts)} GT pages")
    out: dict = {}
    for level, fn in (("word", lambda pg: [w.quad for w in pg.words]), ("char", char_quads), ("line", line_quads)):
        r = detection_prf([fn(p) for p in preds], [fn(g) for g in gts], iou)
        out.update({f"{level}_{k}": r[k] for k in ("precision", "recall", "hmean", "n_pred", "n_gt")})
    out.update(orientation_scores(preds, gts, iou))
    return out
