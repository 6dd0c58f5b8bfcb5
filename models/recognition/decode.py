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
    out = []
    for ids, ps, n in zip(best, best_p, lengths):
        ids, ps = ids[:n], ps[:n]
        keep = (ids != 0) & np.concatenate([[True], ids[1:] != ids[:-1]])
        text = charset.decode(ids[keep])
        conf = float(np.prod(ps[keep])) if keep.any() else 1.0
        blanks = ps[ids == 0]
        if blanks.size:
            conf *= float(blanks.mean())
        out.append((text, conf))
    return out
