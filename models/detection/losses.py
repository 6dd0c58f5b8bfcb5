"""Detector losses, one small function each (torchvision.ops style, with a `reduction` argument where it
makes sense), and `detection_losses` that returns them as a dict of named terms for models/engine.py.

Box convention: a box is given by FCOS distances (l, t, r, b) >= 0 from one point to its left, top, right
and bottom sides, in pixels; predicted and target boxes of a cell share that point.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def ohem_bce(logits: torch.Tensor, target: torch.Tensor, positive: torch.Tensor, neg_ratio: float = 3.0,
             min_neg: int = 256) -> torch.Tensor:
    """Binary cross-entropy with online hard negative mining (CRAFT's 3:1 scheme).

    `target` may be soft (a Gaussian); `positive` marks the positive cells. The loss averages over all
    positive cells and the `neg_ratio * n_pos` negative cells with the highest loss (at least `min_neg`
    when there are few positives), so easy background does not drown the text."""
    loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none").flatten()
    pos = positive.flatten().bool()
    n_pos = int(pos.sum())
    neg_loss = loss[~pos]
    k = min(neg_loss.numel(), max(int(neg_ratio * n_pos), min_neg))
    hard = torch.topk(neg_loss, k).values if k > 0 else neg_loss[:0]
    return (loss[pos].sum() + hard.sum()) / max(1, n_pos + k)


def giou_loss(pred: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """1 - GIoU of boxes given as (n, 4) FCOS distances l, t, r, b from a shared point (see module doc)."""
    pl, pt, pr, pb = pred.unbind(-1)
    tl, tt, tr, tb = target.unbind(-1)
    area_p = (pl + pr) * (pt + pb)
    area_t = (tl + tr) * (tt + tb)
    iw = torch.minimum(pl, tl) + torch.minimum(pr, tr)
    ih = torch.minimum(pt, tt) + torch.minimum(pb, tb)
    inter = iw.clamp(min=0) * ih.clamp(min=0)
    union = area_p + area_t - inter
    iou = inter / union.clamp(min=1e-6)
    enclose = (torch.maximum(pl, tl) + torch.maximum(pr, tr)) * (torch.maximum(pt, tt) + torch.maximum(pb, tb))
    giou = iou - (enclose - union) / enclose.clamp(min=1e-6)
    loss = 1.0 - giou
    return _reduce(loss, reduction)


def log_l1_loss(pred_log: torch.Tensor, target: torch.Tensor, stride: int, reduction: str = "mean") -> torch.Tensor:
    """Smooth L1 between predicted log(distance / stride) and the log of the target distances (pixels)."""
    tgt = torch.log(target.clamp(min=0.25 * stride) / stride)
    return _reduce(F.smooth_l1_loss(pred_log, tgt, reduction="none", beta=0.1).sum(-1), reduction)


def orientation_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the 4 orientation classes on text cells only (target -1 = ignored);
    0 when a batch holds no text."""
    if not bool((target >= 0).any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits, target, ignore_index=-1)


def _reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return loss.mean() if loss.numel() else loss.sum()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be mean, sum or none, got {reduction!r}")


def char_losses(out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor], stride: int,
                prefix: str = "") -> dict[str, torch.Tensor]:
    """The character terms (centerness, box, offset) of the maps `<prefix>center`, `<prefix>box` and
    `<prefix>offset` against targets.encode's maps at the same stride."""
    center_t = batch["center"]
    losses = {"center": ohem_bce(out[prefix + "center"][:, 0], center_t, center_t >= 0.1)}
    mask = batch["box_mask"] > 0.5                                      # (N, h, w)
    pred_log = out[prefix + "box"].permute(0, 2, 3, 1)[mask]            # (n, 4)
    target = batch["box"].permute(0, 2, 3, 1)[mask]
    pred = torch.exp(pred_log.clamp(max=8.0)) * stride
    losses["box_giou"] = giou_loss(pred, target)
    losses["box_l1"] = log_l1_loss(pred_log, target, stride)
    pred_off = out[prefix + "offset"].permute(0, 2, 3, 1)[mask]
    target_off = batch["offset"].permute(0, 2, 3, 1)[mask]
    losses["offset"] = _reduce(F.smooth_l1_loss(pred_off, target_off, reduction="none", beta=0.1).sum(-1), "mean")
    return losses


def detection_losses(out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor],
                     stride: int) -> dict[str, torch.Tensor]:
    """All loss terms of one batch: model outputs (N, C, h, w) against the maps of targets.encode, stacked."""
    return {**char_losses(out, batch, stride),
            "link": ohem_bce(out["link"][:, 0], batch["link"], batch["link"] > 0.5),
            "orient": orientation_loss(out["orient"], batch["orient"])}
