"""Key-field and key->value link scores (pure; definitions in docs/EVALUATION.md).

Key fields (SROIE task 3): the GT page carries `fields` {company, date, address, total}. A predicted field
counts as correct when its value equals the GT value after `normalize_field` (upper-case, whitespace runs
collapsed, stripped). As in SROIE task 3, precision is over the predicted non-empty fields (restricted to the
keys the GT defines) and recall over the GT non-empty fields; counts are summed over pages.

Links: every page's links become (key text, value text) pairs, compared as multisets after
`normalize_link_text` (all whitespace removed, case kept). The first source a page has is used:
1. `meta["links"]`: text pairs (FUNSD GT: question -> answer);
2. `meta["kv_pairs"]` ({"key": word ids, "value": word ids}, the post-OCR clusterer) or `meta["kv_spans"]`
   ([key word ids, value word ids], synthetic GT): each side's words joined by spaces in index order;
3. `Page.links` (key word, value word): each word widened to the entity that contains it (so an
   entity-to-entity link is one pair, however many words the entities have).
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


def _span_text(page: Page, ids) -> str:
    ids = [int(i) for i in ids]
    if any(not 0 <= i < len(page.words) for i in ids):
        raise ValueError(f"link span {ids} points outside the page's {len(page.words)} words")
    return " ".join(page.words[i].text for i in sorted(ids))


def link_pairs(page: Page) -> list[tuple[str, str]] | None:
    """(key text, value text) of a page's links from its first link source (module docstring), or None when
    the page has no link information at all."""
    if page.meta.get("links") is not None:
        return [(str(a), str(b)) for a, b in page.meta["links"]]
    if page.meta.get("kv_pairs") is not None:
        return [(_span_text(page, p["key"]), _span_text(page, p["value"])) for p in page.meta["kv_pairs"]]
    if page.meta.get("kv_spans") is not None:
        return [(_span_text(page, k), _span_text(page, v)) for k, v in page.meta["kv_spans"]]
    if not page.links:
        return None
    ent_text = _word_to_entity_text(page)
    pairs: set[tuple[str, str]] = set()
    for k, v in page.links:
        _span_text(page, [k, v])
        k, v = int(k), int(v)
        pairs.add((ent_text.get(k, page.words[k].text), ent_text.get(v, page.words[v].text)))
    return sorted(pairs)


def _norm_pairs(pairs: Iterable[tuple[str, str]]) -> Counter:
    return Counter((normalize_link_text(a), normalize_link_text(b)) for a, b in pairs)


def link_counts(pred: Page, gt: Page) -> tuple[int, int, int] | None:
    """(tp, n_pred, n_gt) of key->value links on one page, or None when the GT has no link information."""
    gt_links = link_pairs(gt)
    if gt_links is None:
        return None
    g = _norm_pairs(gt_links)
    p = _norm_pairs(link_pairs(pred) or [])
    tp = sum(min(c, g[k]) for k, c in p.items())
    return tp, sum(p.values()), sum(g.values())
