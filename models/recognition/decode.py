"""Greedy CTC decoding: argmax per token, collapse repeats, drop blanks (blank = index 0)."""
from __future__ import annotations

import numpy as np
import torch

from models.recognition.charset import Charset


def ctc_greedy(logits: torch.Tensor, lengths: torch.Tensor, charset: Charset) -> list[tuple[str, float]]:
    """(B, T, C) logits + valid token counts -> [(text, confidence)].

    Confidence = the product of the max probabilities of the kept (non-blank, non-repeat) tokens times
    the mean max probability of the blanks, so both a doubtful character and a doubtful gap lower it."""
    if logits.ndim != 3 or lengths.shape[0] != logits.shape[0]:
        raise ValueError(f"expected (B, T, C) logits and (B,) lengths, got {tuple(logits.shape)}, {tuple(lengths.shape)}")
    best_logit, best = logits.max(-1)      # in the logits' own dtype (bf16 under autocast): no float copy
    best_p = (best_logit.float() - logits.logsumexp(-1).float()).exp()     # max softmax probability
    best, best_p, lengths = best.cpu().numpy(), best_p.cpu().numpy(), lengths.cpu().numpy()
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
    return [(charset.decode(ids[k]), float(c)) for ids, k, c in zip(best, keep, conf)]
