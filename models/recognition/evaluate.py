"""Recognition quality on a fixed crop set, per script (metric code: models.eval.metrics)."""
from __future__ import annotations

from collections import defaultdict

from models.eval.metrics import text_scores


def scores_by_script(preds: list[str], texts: list[str], scripts: list[str], casefold: bool = False) -> dict:
    """{script: {cer, word_acc, n_pairs, ...}} plus "all"."""
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for p, t, s in zip(preds, texts, scripts):
        groups[s].append((p, t))
        groups["all"].append((p, t))
    return {s: text_scores(pairs, casefold=casefold).as_dict() for s, pairs in sorted(groups.items())}


def evaluate_pool(predictor, pool, casefold: bool = False) -> dict:
    """Run a predictor over a CropPool and score it per script."""
    preds = [t for t, _ in predictor.recognize([pool.image(i) for i in range(len(pool))])]
    return scores_by_script(preds, pool.texts, pool.scripts, casefold)
