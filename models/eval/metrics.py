"""Detection and recognition metrics over quads and strings (pure NumPy / OpenCV / rapidfuzz).

Conventions (see docs/EVALUATION.md for the full definitions):
- A quad is (4, 2) absolute pixels, as in models.types. IoU is exact polygon IoU
  (models.geometry.polygon_iou), so rotated quads are handled.
- Matching is one-to-one and GREEDY BY IoU: all (pred, gt) pairs with IoU >= threshold are sorted by IoU
  (descending; ties by pred index, then gt index) and taken while neither side is used yet. This is the
  ICDAR-style rule; it equals the Hungarian assignment whenever each box overlaps at most one box of the
  other side above the threshold, which is the normal case at IoU 0.5.
- Counts are micro-averaged over pages: P = sum(tp) / sum(n_pred), R = sum(tp) / sum(n_gt),
  H-mean = 2PR / (P + R). With nothing predicted P is 0; with nothing in the GT R is 0 (never NaN), except
  that both empty gives P = R = H = 1 (nothing to find and nothing claimed).
- CER = Levenshtein distance / number of GT characters, summed over pairs before dividing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
from rapidfuzz.distance import Levenshtein

from models.geometry import polygon_iou
from models.types import Page

IOU_THRESHOLD = 0.5


# ------------------------------------------------------------------------------------------ matching
def _quads_array(quads) -> np.ndarray:
    """Sequence of quads -> (n, 4, 2) float64; raise ValueError on anything else."""
    if len(quads) == 0:
        return np.zeros((0, 4, 2), np.float64)
    arr = np.asarray([np.asarray(q, dtype=np.float64) for q in quads])
    if arr.ndim != 3 or arr.shape[1:] != (4, 2) or not np.all(np.isfinite(arr)):
        raise ValueError(f"expected a list of (4, 2) quads, got shape {arr.shape}")
    return arr


def iou_matrix(pred_quads, gt_quads) -> np.ndarray:
    """(n_pred, n_gt) polygon IoU; pairs whose enclosing boxes do not overlap are 0 without a polygon test."""
    p, g = _quads_array(pred_quads), _quads_array(gt_quads)
    out = np.zeros((len(p), len(g)), np.float64)
    if len(p) == 0 or len(g) == 0:
        return out
    pmin, pmax = p.min(axis=1), p.max(axis=1)          # (n, 2)
    gmin, gmax = g.min(axis=1), g.max(axis=1)
    overlap = ((pmin[:, None, 0] < gmax[None, :, 0]) & (gmin[None, :, 0] < pmax[:, None, 0])
               & (pmin[:, None, 1] < gmax[None, :, 1]) & (gmin[None, :, 1] < pmax[:, None, 1]))
    for i, j in zip(*np.nonzero(overlap)):
        out[i, j] = polygon_iou(p[i], g[j])
    return out


def match_quads(pred_quads, gt_quads, iou: float = IOU_THRESHOLD) -> list[tuple[int, int, float]]:
    """One-to-one greedy matching by IoU (see module docstring): list of (pred_idx, gt_idx, iou),
    sorted by gt index, with iou >= threshold."""
    if not 0.0 < iou <= 1.0:
        raise ValueError(f"iou threshold must be in (0, 1], got {iou}")
    m = iou_matrix(pred_quads, gt_quads)
    pi, gi = np.nonzero(m >= iou)
    order = sorted(zip(-m[pi, gi], pi.tolist(), gi.tolist()))
    used_p: set[int] = set()
    used_g: set[int] = set()
    pairs = []
    for neg, i, j in order:
        if i in used_p or j in used_g:
            continue
        used_p.add(i)
        used_g.add(j)
        pairs.append((i, j, float(-neg)))
    return sorted(pairs, key=lambda t: t[1])


# ------------------------------------------------------------------------------------------ P / R / H
def prf(tp: int, n_pred: int, n_gt: int) -> dict:
    """Precision, recall, H-mean (F1) from counts, with the empty-set rules of the module docstring."""
    if min(tp, n_pred, n_gt) < 0 or tp > min(n_pred, n_gt):
        raise ValueError(f"inconsistent counts tp={tp} n_pred={n_pred} n_gt={n_gt}")
    if n_pred == 0 and n_gt == 0:
        p = r = h = 1.0
    else:
        p = tp / n_pred if n_pred else 0.0
        r = tp / n_gt if n_gt else 0.0
        h = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return {"precision": p, "recall": r, "hmean": h, "tp": int(tp), "n_pred": int(n_pred), "n_gt": int(n_gt)}


def _page_quads(page) -> list:
    """A page for detection_prf: a models.types.Page (its words' quads) or a sequence of quads."""
    if isinstance(page, Page):
        return [w.quad for w in page.words]
    return list(page)


def _is_single_page(pages) -> bool:
    """True when `pages` is one page given as a list of quads (its first item has shape (4, 2))."""
    if isinstance(pages, Page) or len(pages) == 0:
        return isinstance(pages, Page)
    first = pages[0]
    if isinstance(first, Page):
        return False
    return np.asarray(first, dtype=object).shape == (4, 2)


def detection_prf(preds, gts, iou: float = IOU_THRESHOLD) -> dict:
    """Detection precision / recall / H-mean at an IoU threshold, micro-averaged over pages.

    `preds` and `gts` are either ONE page each (a Page, or a list of (4, 2) quads) or equally long lists of
    pages (each a Page or a list of quads). A Page contributes its WORDS' quads; to compare at the GT's own
    granularity (SROIE: lines) use `models.eval.pages.evaluate_page` + `aggregate(...)["det"]`.
    Returns dict(precision, recall, hmean, tp, n_pred, n_gt)."""
    if _is_single_page(preds) or _is_single_page(gts):
        preds, gts = [preds], [gts]
    if len(preds) != len(gts):
        raise ValueError(f"{len(preds)} predicted pages but {len(gts)} GT pages")
    tp = n_pred = n_gt = 0
    for p, g in zip(preds, gts):
        pq, gq = _page_quads(p), _page_quads(g)
        tp += len(match_quads(pq, gq, iou))
        n_pred += len(pq)
        n_gt += len(gq)
    return prf(tp, n_pred, n_gt)


# ------------------------------------------------------------------------------------------ text
def normalize_text(text: str, casefold: bool = False) -> str:
    """Collapse runs of whitespace to one space and strip; optionally upper-case (SROIE GT is upper-case)."""
    t = " ".join(str(text).split())
    return t.upper() if casefold else t


def edit_distance(pred: str, gt: str) -> int:
    return int(Levenshtein.distance(pred, gt))


def cer(pred: str, gt: str) -> float:
    """Character error rate of one string: edit distance / len(gt) (len(pred) if the GT is empty, so an
    empty pair is 0 and any prediction against an empty GT is 1)."""
    d = edit_distance(pred, gt)
    if gt:
        return d / len(gt)
    return 0.0 if not pred else 1.0


@dataclass(frozen=True)
class TextScores:
    """Recognition scores over matched (pred_text, gt_text) pairs."""
    cer: float              # sum(edit distance) / sum(len(gt))
    word_acc: float         # fraction of pairs whose texts are identical
    n_pairs: int
    edits: int
    gt_chars: int

    def as_dict(self) -> dict:
        return {"cer": self.cer, "word_acc": self.word_acc, "n_pairs": self.n_pairs, "edits": self.edits,
                "gt_chars": self.gt_chars}


def text_scores(pairs: Iterable[tuple[str, str]], casefold: bool = False) -> TextScores:
    """CER (micro: total edits / total GT chars) and word accuracy (exact match after normalize_text) over
    (pred_text, gt_text) pairs, e.g. the texts of matched boxes. No pairs -> cer 0 and word_acc 0 would both
    mislead, so they are NaN."""
    edits = gt_chars = exact = n = 0
    for pred, gt in pairs:
        p, g = normalize_text(pred, casefold), normalize_text(gt, casefold)
        edits += edit_distance(p, g)
        gt_chars += len(g)
        exact += int(p == g)
        n += 1
    if n == 0:
        return TextScores(float("nan"), float("nan"), 0, 0, 0)
    c = edits / gt_chars if gt_chars else float(edits > 0)
    return TextScores(c, exact / n, n, edits, gt_chars)


def paired_edits_bootstrap(ours: Sequence[str], theirs: Sequence[str], gts: Sequence[str], casefold: bool = False,
                           n_boot: int = 10000, seed: int = 0) -> dict:
    """Two readers of the same items against their GT: our total edits minus theirs, with a 95 % interval
    from resampling the items (a seeded paired bootstrap) and the share of resamples where ours is lower.
    Whether a CER gap is more than which items happened to be in the set."""
    if not (len(ours) == len(theirs) == len(gts)) or not gts:
        raise ValueError("one reading of each GT item from each reader, and at least one item")
    diff = []
    for a, b, g in zip(ours, theirs, gts):
        g = normalize_text(g, casefold)
        diff.append(edit_distance(normalize_text(a, casefold), g) - edit_distance(normalize_text(b, casefold), g))
    diff = np.asarray(diff)
    rng = np.random.default_rng(seed)
    sums = np.concatenate([diff[rng.integers(0, len(diff), (min(1000, n_boot - i), len(diff)))].sum(1)
                           for i in range(0, n_boot, 1000)])                  # 1,000 resamples at a time
    lo, hi = np.percentile(sums, [2.5, 97.5])
    return {"ours_minus_theirs_edits": int(diff.sum()), "ci95": [float(lo), float(hi)],
            "p_ours_lower": float((sums < 0).mean()), "items": len(diff)}


def word_accuracy(pairs: Iterable[tuple[str, str]], casefold: bool = False) -> float:
    return text_scores(pairs, casefold).word_acc


def matched_text_pairs(pred_texts: Sequence[str], gt_texts: Sequence[str],
                       matches: Sequence[tuple[int, int, float]]) -> list[tuple[str, str]]:
    """(pred_text, gt_text) for each (pred_idx, gt_idx, iou) of match_quads."""
    return [(pred_texts[i], gt_texts[j]) for i, j, _ in matches]
