"""Greedy CTC decoding: argmax per token, collapse repeats, drop blanks (blank = index 0); optionally a space
where the gap between two characters leans to one (`space_threshold`)."""
from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from models.recognition.charset import Charset
from models.recognition.confusables import PARTNER_P, PARTNERS, fix_confusables
from models.recognition.data import encode_targets

# The predictors' default for ctc_greedy's space_threshold (recognize(lines=True)). Chosen on two synthetic
# held-out sets with the shipped recognizer 6d57d8637c53 (eval fonts; benchdata reported, not used to
# choose): 600 rendered text lines with a space (exact match 0.692 argmax -> 0.700 / 0.710 at 0.2 / 0.3)
# and template fields end to end (seed 777, 100 pages: 0.886 -> 0.891 / 0.889); word crops unchanged
# (0.983). 0.3: the best sum.
SPACE_THRESHOLD: float | None = 0.3


def ctc_greedy(logits: torch.Tensor, lengths: torch.Tensor, charset: Charset,
               space_threshold: float | None = None, confusables: bool = False) -> list[tuple[str, float]]:
    """(B, T, C) logits + valid token counts -> [(text, confidence)].

    Confidence = the product of the max probabilities of the kept (non-blank, non-repeat) tokens times
    the mean max probability of the blanks, so both a doubtful character and a doubtful gap lower it.

    `space_threshold`: a run of blanks between two characters (neither a space) whose space probability
    reaches it somewhere becomes a space there (`rescue_spaces`); None decodes the argmax only.

    `confusables`: a `0` / `1` read inside a word and an `o` / `l` inside a number, where the model gave its
    partner at least PARTNER_P, are read by their neighbours (models.recognition.confusables)."""
    if logits.ndim != 3 or lengths.shape[0] != logits.shape[0]:
        raise ValueError(f"expected (B, T, C) logits and (B,) lengths, got {tuple(logits.shape)}, {tuple(lengths.shape)}")
    best_logit, best = logits.max(-1)      # in the logits' own dtype (bf16 under autocast): no float copy
    log_z = logits.logsumexp(-1).float()
    best_p = (best_logit.float() - log_z).exp()     # max softmax probability
    best, best_p, lengths = best.cpu().numpy(), best_p.cpu().numpy(), lengths.cpu().numpy()
    space = charset.characters.find(" ") + 1 if space_threshold is not None else 0
    if space:
        p_space = (logits[..., space].float() - log_z).exp().cpu().numpy()
        rescue_spaces(best, best_p, p_space, lengths, space, space_threshold)
    # the whole batch at once: valid tokens, kept ones (non-blank, not a repeat), blanks
    valid = np.arange(best.shape[1])[None, :] < lengths[:, None]
    keep = valid & (best != 0)
    keep[:, 1:] &= best[:, 1:] != best[:, :-1]
    blank = valid & (best == 0)
    log_p = np.log(np.maximum(best_p, 1e-30))
    conf = np.exp(np.where(keep, log_p, 0.0).sum(1))
    n_blank = blank.sum(1)
    blank_mean = np.where(blank, best_p, 0.0).sum(1) / np.maximum(n_blank, 1)
    conf = np.where(n_blank > 0, conf * blank_mean, conf)
    texts = [charset.decode(ids[k]) for ids, k in zip(best, keep)]
    if confusables:
        texts = [_fix(text, logits[b], log_z[b], best[b], keep[b], charset) for b, text in enumerate(texts)]
    return [(text, float(c)) for text, c in zip(texts, conf)]


@functools.lru_cache(maxsize=8)
def _partner_ids(charset: Charset) -> dict[str, list[int]]:
    """Each confusable character -> the class indices of its partners in `charset` (those it holds)."""
    index = {c: i + 1 for i, c in enumerate(charset.characters)}
    return {c: [index[p] for p in partners if p in index] for c, partners in PARTNERS.items()}


def _fix(text: str, logits: torch.Tensor, log_z: torch.Tensor, best: np.ndarray, keep: np.ndarray,
         charset: Charset) -> str:
    """`text` (one crop's greedy reading) through fix_confusables, allowed to change only the characters
    whose partner had at least PARTNER_P at their token."""
    frames = np.flatnonzero(keep)               # the token of each character of `text`
    if len(frames) != len(text) or not any(c in PARTNERS for c in text):
        return text
    partners = _partner_ids(charset)
    doubtful = set()
    for i, c in enumerate(text):
        ids = partners.get(c)
        if ids and float((logits[frames[i], ids].float() - log_z[frames[i]]).exp().max()) >= PARTNER_P:
            doubtful.add(i)
    return fix_confusables(text, doubtful) if doubtful else text


def rescue_spaces(best: np.ndarray, best_p: np.ndarray, p_space: np.ndarray, lengths: np.ndarray, space: int,
                  threshold: float) -> None:
    """In place on the argmax ids / probabilities (B, T): each maximal run of blank tokens that has a
    non-blank, non-space token on both sides and a space probability >= `threshold` at some token gets a
    space at its most space-like token. Greedy CTC drops a narrow word gap whose frames each lean to blank
    even when the space class holds much of the mass ("₩ 70" read "₩70")."""
    valid = np.arange(best.shape[1])[None, :] < lengths[:, None]
    for b in np.flatnonzero((valid & (best == 0) & (p_space >= threshold)).any(1)):
        ids, n = best[b], int(lengths[b])
        t = 0
        while t < n:
            if ids[t] != 0:
                t += 1
                continue
            end = t
            while end < n and ids[end] == 0:
                end += 1
            if 0 < t and end < n and ids[t - 1] != space and ids[end] != space:
                k = t + int(np.argmax(p_space[b, t:end]))
                if p_space[b, k] >= threshold:
                    ids[k], best_p[b, k] = space, p_space[b, k]
            t = end


def ctc_log_likelihood(texts: list[str], views: list[torch.Tensor], charset: Charset) -> np.ndarray:
    """log P(text | crop) under CTC (blank 0) of each text, summed over several readings of one crop: each
    view's (T, C) log-probs (a view's T may differ), or its raw logits, which give every text the same
    per-frame log-normaliser and so the same ranking (each path takes one class a frame). -inf where a
    view cannot emit the text."""
    if not texts or not views:
        raise ValueError("ctc_log_likelihood needs at least one text and one view")
    flat, target_lengths = encode_targets(texts, charset)
    classes = torch.unique(torch.cat([torch.zeros(1, dtype=torch.int64), flat]))   # sorted: the blank stays 0
    targets = torch.searchsorted(classes, flat)              # each target's column among `classes`
    total = np.zeros(len(texts))
    for view in views:
        if view.ndim != 2 or view.shape[1] != charset.num_classes:
            raise ValueError(f"a view is (T, {charset.num_classes}), got {tuple(view.shape)}")
        steps = view.shape[0]
        lp = view[:, classes].float()            # only the classes the texts use, and the blank
        loss = F.ctc_loss(lp[:, None, :].expand(steps, len(texts), len(classes)), targets,
                          torch.full((len(texts),), steps, dtype=torch.int64), target_lengths,
                          blank=0, reduction="none", zero_infinity=False)
        total -= loss.double().numpy()
    return total
