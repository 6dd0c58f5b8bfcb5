"""Metrics for post-OCR outputs: key->value link F1 and entity-level precision / recall / F1.

Entities and link ends are compared as *sets of word indices*: `strict` needs the same set, `overlap`
accepts a predicted set whose word IoU with the ground-truth set is at least `min_iou` (each ground-truth
item matched at most once).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.types import Page


@dataclass(frozen=True)
class PRF:
    tp: int
    n_pred: int
    n_gt: int

    @property
    def precision(self) -> float:
        return self.tp / self.n_pred if self.n_pred else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.n_gt if self.n_gt else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: "PRF") -> "PRF":
        return PRF(self.tp + other.tp, self.n_pred + other.n_pred, self.n_gt + other.n_gt)


def _iou(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def match_sets(pred: list[frozenset], gt: list[frozenset], min_iou: float = 1.0) -> list[tuple[int, int]]:
    """Greedy one-to-one matching of word-index sets by IoU (highest first)."""
    cand = sorted(((_iou(p, g), i, j) for i, p in enumerate(pred) for j, g in enumerate(gt)
                   if _iou(p, g) >= min_iou), reverse=True)
    used_p, used_g, out = set(), set(), []
    for _, i, j in cand:
        if i not in used_p and j not in used_g:
            used_p.add(i)
            used_g.add(j)
            out.append((i, j))
    return out


def link_prf(pred: list[tuple[frozenset, frozenset]], gt: list[tuple[frozenset, frozenset]],
             min_iou: float = 1.0) -> PRF:
    """A predicted (key words, value words) link is correct when both ends match a ground-truth link's."""
    used, tp = set(), 0
    for pk, pv in pred:
        for j, (gk, gv) in enumerate(gt):
            if j not in used and _iou(pk, gk) >= min_iou and _iou(pv, gv) >= min_iou:
                used.add(j)
                tp += 1
                break
    return PRF(tp, len(pred), len(gt))


def entity_prf(pred: Page, gt: Page, labels: tuple[str, ...] | None = None, min_iou: float = 1.0) -> dict[str, PRF]:
    """Per-label PRF of entities (label and word set must match); key "ALL" sums them."""
    labels = labels or tuple(sorted({e.label for e in gt.entities} | {e.label for e in pred.entities}))
    out: dict[str, PRF] = {}
    for lab in labels:
        p = [frozenset(e.word_ids) for e in pred.entities if e.label == lab]
        g = [frozenset(e.word_ids) for e in gt.entities if e.label == lab]
        out[lab] = PRF(len(match_sets(p, g, min_iou)), len(p), len(g))
    out["ALL"] = sum(out.values(), PRF(0, 0, 0))
    return out


def funsd_gt_links(page: Page) -> list[tuple[frozenset, frozenset]]:
    """FUNSD links (text pairs in benchdata GT) as word-index set pairs. A text may name several entities
    (a table header repeated over two tables), so the pairs are resolved globally, closest first: each
    link takes one (question, answer) entity pair with its texts, each answer entity answers one link."""
    ents = page.entities
    centre = [np.mean([np.asarray(page.words[i].quad).mean(axis=0) for i in e.word_ids], axis=0)
              if e.word_ids else np.zeros(2) for e in ents]
    links = page.meta.get("links", [])
    cands = sorted((float(np.linalg.norm(centre[i] - centre[j])), k, i, j)
                   for k, (q_text, a_text) in enumerate(links)
                   for i, q in enumerate(ents) if q.text == q_text and q.word_ids
                   for j, a in enumerate(ents) if a.text == a_text and a.word_ids and i != j)
    done: dict[int, tuple[int, int]] = {}
    answered: set[int] = set()
    for _, k, i, j in cands:
        if k not in done and j not in answered:
            done[k] = (i, j)
            answered.add(j)
    return [(frozenset(ents[i].word_ids), frozenset(ents[j].word_ids)) for k, (i, j) in sorted(done.items())]
