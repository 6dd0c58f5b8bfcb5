"""The detector network: a small residual backbone, a top-down feature pyramid and per-pixel heads at
output stride 4 (FCOS / CRAFT lineage: one shot, anchor free, no NMS).

Heads (channel layout of the stride-4 output map, see `HEADS`):
    center  1  logit of the character centerness (Gaussian peaking at the character centre)
    box     4  log of the distances (in units of `stride` pixels) from the cell centre to the left, top,
               right and bottom side of the character's axis-aligned box on the image
    offset  2  exact character centre minus the cell centre, in units of `stride` pixels
    orient  4  logits of the reading direction of the text under the cell (0, 90, 180, 270 degrees)
    link    1  logit of the link (affinity) map between neighbouring characters of the same word

Input: (N, 1, H, W) float gray pages normalised by `DetectorConfig.mean/std`, H and W multiples of
`DetectorConfig.pad_multiple`.
"""
from __future__ import annotations

import copy

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

HEADS: dict[str, int] = {"center": 1, "box": 4, "offset": 2, "orient": 4, "link": 1}


@dataclass(frozen=True)
class DetectorConfig:
    """Architecture and input recipe; stored next to the shipped weights (timm style)."""
    widths: tuple[int, ...] = (16, 32, 48, 96, 128)   # stem (s2), stages at s4, s8, s16, s32
    blocks: tuple[int, ...] = (1, 1, 2, 1)           # residual blocks per stage (s4..s32)
    fpn_width: int = 32
    stride: int = 4
    mean: float = 0.5                                 # gray in [0, 1] -> (x - mean) / std
    std: float = 0.25

    @property
    def pad_multiple(self) -> int:
        return 2 ** len(self.widths)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "DetectorConfig":
        fields = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**fields)


def conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class ResBlock(nn.Module):
    """Basic residual block (two 3x3 convs), same width in and out."""

    def __init__(self, width: int):
        super().__init__()
        self.conv1 = conv_bn(width, width)
        self.conv2 = nn.Sequential(nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.conv2(self.conv1(x)), inplace=True)


class Backbone(nn.Module):
    """Stem (stride 2) then one stage per width: a stride-2 conv and `blocks` residual blocks.
    Returns the features of every stage (strides 4, 8, 16, 32)."""

    def __init__(self, cfg: DetectorConfig):
        super().__init__()
        w = cfg.widths
        self.stem = conv_bn(1, w[0], 3, 2)
        self.stages = nn.ModuleList(
            nn.Sequential(conv_bn(w[i], w[i + 1], 3, 2), *[ResBlock(w[i + 1]) for _ in range(n)])
            for i, n in enumerate(cfg.blocks))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


class FPN(nn.Module):
    """Top-down pyramid: 1x1 laterals, nearest upsampling, sum; one 3x3 smoothing conv at stride 4."""

    def __init__(self, in_widths: tuple[int, ...], width: int):
        super().__init__()
        self.laterals = nn.ModuleList(nn.Conv2d(c, width, 1) for c in in_widths)
        self.smooth = conv_bn(width, width)

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        x = self.laterals[-1](feats[-1])
        for lat, f in zip(reversed(self.laterals[:-1]), reversed(feats[:-1])):
            x = lat(f) + F.interpolate(x, size=f.shape[-2:], mode="nearest")
        return self.smooth(x)


class Detector(nn.Module):
    """Backbone + FPN + one shared 3x3 conv + a 1x1 conv producing every head (see module docstring)."""

    def __init__(self, cfg: DetectorConfig = DetectorConfig()):
        super().__init__()
        self.cfg = cfg
        self.backbone = Backbone(cfg)
        self.fpn = FPN(cfg.widths[1:], cfg.fpn_width)
        self.tower = conv_bn(cfg.fpn_width, cfg.fpn_width)
        self.out = nn.Conv2d(cfg.fpn_width, sum(HEADS.values()), 1)
        with torch.no_grad():      # start with a low text prior, as in FCOS / RetinaNet
            self.out.bias.zero_()
            self.out.bias[0] = -4.0
            self.out.bias[-1] = -2.0

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """(N, 1, H, W) normalised pages -> dict of head maps (N, C, H/stride, W/stride), raw logits."""
        y = self.out(self.tower(self.fpn(self.backbone(x))))
        return dict(zip(HEADS, torch.split(y, list(HEADS.values()), dim=1)))


def fused_for_inference(model: nn.Module) -> nn.Module:
    """An eval-mode copy with every BatchNorm folded into the convolution before it (same outputs to float
    rounding, ~16% faster on CPU); the original keeps its parameters for training and export."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    fused = copy.deepcopy(model).eval()
    for seq in [m for m in fused.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(seq) - 1):
            if isinstance(seq[i], nn.Conv2d) and isinstance(seq[i + 1], nn.BatchNorm2d):
                seq[i], seq[i + 1] = fuse_conv_bn_eval(seq[i], seq[i + 1]), nn.Identity()
    return fused


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
