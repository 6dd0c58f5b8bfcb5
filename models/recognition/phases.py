"""Training phases as step objects for models.engine.train: `step(model, batch) -> {name: loss}`.

- SupervisedCTC: CTC on labelled crops.
- SeqCLR: sequence-level contrastive pre-training (Aberdam et al., 2021) on unlabelled crops: two
  augmented views, the encoder's column frames are pooled into `instances` windows per crop
  ("window-to-instance" mapping, masks respected), projected, and a window of view A must find the same
  window of view B among every window of the batch (NT-Xent).
- FixMatch: labelled CTC + on unlabelled crops, a weak view is decoded (greedy CTC) into a pseudo-label,
  kept when its confidence >= threshold, and the strong view is trained on it with CTC.

Batches are dicts of tensors: images (B,1,H,W), widths (B,), and for labelled data targets (sum L,),
target_lengths (B,); unlabelled parts use the `u_` prefix.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.recognition import augment
from models.recognition.model import ColumnViTSTR, ctc_loss


class SupervisedCTC:
    def __call__(self, model: ColumnViTSTR, batch: dict) -> dict[str, torch.Tensor]:
        logits, lengths = model(batch["images"], batch["widths"])
        return {"ctc": ctc_loss(logits, lengths, batch["targets"], batch["target_lengths"])}


class SeqCLRModel(nn.Module):
    """The recognizer plus SeqCLR's projection head (kept apart so fine-tuning takes `.recognizer`)."""

    def __init__(self, recognizer: ColumnViTSTR, proj_dim: int = 128):
        super().__init__()
        d = recognizer.cfg.dim
        self.recognizer = recognizer
        self.projector = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, proj_dim))


def window_pool(frames: torch.Tensor, lengths: torch.Tensor, instances: int) -> torch.Tensor:
    """(B, T, D) frames -> (B, instances, D): window k of a crop averages its valid frames
    [floor(k L / n), floor((k+1) L / n)) (at least one frame), L = its valid token count."""
    b, t, _ = frames.shape
    pos = torch.arange(t, device=frames.device)[None, None, :].float()                 # (1, 1, T)
    k = torch.arange(instances, device=frames.device)[None, :, None].float()            # (1, n, 1)
    L = lengths.float()[:, None, None]
    lo = torch.floor(k * L / instances)
    hi = torch.maximum(torch.floor((k + 1) * L / instances), lo + 1)
    weights = ((pos >= lo) & (pos < hi) & (pos < L)).float()
    weights = weights / weights.sum(-1, keepdim=True).clamp(min=1)
    return weights @ frames


def nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent over N paired embeddings: a[i] <-> b[i] positives, all other 2N-2 negatives."""
    z = F.normalize(torch.cat([a, b]), dim=-1)
    sim = z @ z.T / temperature
    n = a.shape[0]
    sim.fill_diagonal_(float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(sim, target)


class SeqCLR:
    def __init__(self, instances: int = 5, temperature: float = 0.1, seed: int = 0):
        self.instances, self.temperature = instances, temperature
        self.gen = torch.Generator().manual_seed(seed)

    def __call__(self, model: SeqCLRModel, batch: dict) -> dict[str, torch.Tensor]:
        x, widths = batch["u_images"], batch["u_widths"]
        views = [augment.strong(x.cpu(), widths.cpu(), self.gen).to(x.device) for _ in range(2)]
        pooled = []
        for v in views:
            frames, keep = model.recognizer.features(v, widths)
            pooled.append(window_pool(model.projector(frames), keep.sum(1), self.instances))
        a, b = (p.reshape(-1, p.shape[-1]) for p in pooled)
        return {"seqclr": nt_xent(a, b, self.temperature)}


class FixMatch:
    def __init__(self, charset, threshold: float = 0.9, weight: float = 1.0, seed: int = 0):
        self.charset, self.threshold, self.weight = charset, threshold, weight
        self.gen = torch.Generator().manual_seed(seed)
        self.last_mask_rate = 0.0

    @torch.no_grad()
    def pseudo_labels(self, model: ColumnViTSTR, x: torch.Tensor, widths: torch.Tensor):
        """Greedy CTC labels of the weak view: (targets, target_lengths, keep) with keep = conf >= threshold."""
        was_training = model.training
        model.eval()
        logits, lengths = model(x, widths)
        model.train(was_training)
        probs = logits.float().softmax(-1)
        best_p, best = probs.max(-1)
        seqs, keep = [], []
        for ids, ps, n in zip(best.cpu(), best_p.cpu(), lengths.cpu()):
            ids, ps = ids[:n], ps[:n]
            sel = (ids != 0) & torch.cat([torch.tensor([True]), ids[1:] != ids[:-1]])
            conf = float(ps[sel].prod()) if bool(sel.any()) else 0.0       # empty strings are not taught
            seqs.append(ids[sel])
            keep.append(conf >= self.threshold)
        return seqs, torch.tensor(keep)

    def __call__(self, model: ColumnViTSTR, batch: dict) -> dict[str, torch.Tensor]:
        losses = SupervisedCTC()(model, batch)
        ux, uw = batch["u_images"], batch["u_widths"]
        weak = augment.weak(ux.cpu(), uw.cpu(), self.gen).to(ux.device)
        seqs, keep = self.pseudo_labels(model, weak, uw)
        self.last_mask_rate = float(keep.float().mean())
        if not bool(keep.any()):
            losses["fixmatch"] = torch.zeros((), device=ux.device)
            return losses
        idx = torch.nonzero(keep).flatten()
        strong = augment.strong(ux.cpu()[idx], uw.cpu()[idx], self.gen).to(ux.device)
        logits, lengths = model(strong, uw[idx])
        targets = torch.cat([seqs[i] for i in idx.tolist()]).to(ux.device)
        tlens = torch.tensor([len(seqs[i]) for i in idx.tolist()], device=ux.device)
        # averaged over all unlabelled crops (masked ones count as zero), as in FixMatch
        unsup = ctc_loss(logits, lengths, targets, tlens, reduction="none") / tlens.clamp(min=1)
        losses["fixmatch"] = self.weight * unsup.sum() / ux.shape[0]
        return losses
