"""ScriptCNN: a tiny CNN over a normalised word crop (ink 1, paper 0, height 32) -> script logits.

Four conv stages (3x3, BN, ReLU; 2x2 max-pool after the first three) then a mean over the crop's valid
columns (padding masked out) and a linear layer over models.types.SCRIPTS.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from models.types import SCRIPTS


@dataclass(frozen=True)
class ScriptCNNConfig:
    classes: tuple[str, ...] = SCRIPTS
    height: int = 32
    widths: tuple[int, ...] = (16, 32, 48, 64)
    max_width: int = 128            # wider crops are squashed (a word shows its script anywhere)

    def to_dict(self) -> dict:
        return asdict(self)


def _stage(cin: int, cout: int, pool: bool) -> nn.Sequential:
    layers = [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class ScriptCNN(nn.Module):
    def __init__(self, cfg: ScriptCNNConfig = ScriptCNNConfig()):
        super().__init__()
        self.cfg = cfg
        chans = (1,) + tuple(cfg.widths)
        self.stages = nn.Sequential(*(_stage(chans[i], chans[i + 1], pool=i < len(cfg.widths) - 1)
                                      for i in range(len(cfg.widths))))
        self.stride = 2 ** (len(cfg.widths) - 1)
        self.head = nn.Linear(cfg.widths[-1], len(cfg.classes))

    def forward(self, images: torch.Tensor, widths: torch.Tensor | None = None) -> torch.Tensor:
        """images (B, 1, H, W), widths (B,) valid pixel widths -> logits (B, n_classes)."""
        f = self.stages(images)                                    # (B, C, H / s, W / s)
        b, _, _, w = f.shape
        if widths is None:
            pooled = f.mean(dim=(2, 3))
        else:
            cols = torch.div(widths.to(f.device) + self.stride - 1, self.stride, rounding_mode="floor").clamp(1, w)
            keep = (torch.arange(w, device=f.device)[None, :] < cols[:, None]).to(f.dtype)   # (B, W')
            pooled = (f.mean(2) * keep[:, None, :]).sum(-1) / keep.sum(-1, keepdim=True)
        return self.head(pooled)
