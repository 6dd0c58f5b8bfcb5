"""Key-field and key->value link scores (pure; definitions in docs/EVALUATION.md).

Key fields (SROIE task 3): the GT page carries `fields` {company, date, address, total}. A predicted field
counts as correct when its value equals the GT value after `normalize_field` (upper-case, whitespace runs
collapsed, stripped). As in SROIE task 3, precision is over the predicted non-empty fields (restricted to the
keys the GT defines) and recall over the GT non-empty fields; counts are summed over pages.

Links (FUNSD): the GT carries `links` as (question text, answer text) pairs (kept in `Page.meta["links"]`).
Predictions give links either as word-index pairs in `Page.links` (key word, value word), each word widened to
the predicted entity that contains it (so a link between entities is one pair, however many words they
have), or directly as text pairs in `meta["links"]`. Pairs compare after `normalize_link_text` (all
whitespace removed, case kept), as multisets.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable

from models.types import Page


def normalize_field(value: str) -> str:
    return " ".join(str(value).split()).upper()


def normalize_link_text(text: str) -> str:
    return "".join(str(text).split())


def field_counts(pred: Page, gt: Page) -> tuple[int, int, int] | None:
    """(tp, n_pred, n_gt) of key fields on one page, or None when the GT has no fields."""
    if not gt.fields:
        return None
    gt_vals = {k: normalize_field(v) for k, v in gt.fields.items() if normalize_field(v)}
    pred_vals = {k: normalize_field(v) for k, v in pred.fields.items() if k in gt.fields and normalize_field(v)}
    tp = sum(1 for k, v in pred_vals.items() if gt_vals.get(k) == v)
    return tp, len(pred_vals), len(gt_vals)


def _word_to_entity_text(page: Page) -> dict[int, str]:
    """Word index -> text of the (first, longest) predicted entity holding it."""
    out: dict[int, str] = {}
    for ent in sorted(page.entities, key=lambda e: -len(e.word_ids)):
        text = ent.text or " ".join(page.words[i].text for i in ent.word_ids if 0 <= i < len(page.words))
        for i in ent.word_ids:
            out.setdefault(int(i), text)
    return out


def predicted_link_pairs(page: Page) -> list[tuple[str, str]]:
    """Text pairs of a predicted page's links (word-index links widened to entities, plus meta text links)."""
    ent_text = _word_to_entity_text(page)
    pairs: set[tuple[str, str]] = set()
    for k, v in page.links:
        k, v = int(k), int(v)
        if not (0 <= k < len(page.words) and 0 <= v < len(page.words)):
            raise ValueError(f"link ({k}, {v}) points outside the page's {len(page.words)} words")
        pairs.add((ent_text.get(k, page.words[k].text), ent_text.get(v, page.words[v].text)))
    out = sorted(pairs)
    out += [(str(a), str(b)) for a, b in page.meta.get("links", []) or []]
    return out


def _norm_pairs(pairs: Iterable[tuple[str, str]]) -> Counter:
    return Counter((normalize_link_text(a), normalize_link_text(b)) for a, b in pairs)


def link_counts(pred: Page, gt: Page) -> tuple[int, int, int] | None:
    """(tp, n_pred, n_gt) of key->value links on one page, or None when the GT has no `links`."""
    gt_links = gt.meta.get("links")
    if gt_links is None:
        return None
    g = _norm_pairs(gt_links)
    p = _norm_pairs(predicted_link_pairs(pred))
    tp = sum(min(c, g[k]) for k, c in p.items())
    return tp, sum(p.values()), sum(g.values())
