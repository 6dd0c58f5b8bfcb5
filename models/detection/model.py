"""The detector network: a small residual backbone, a top-down feature pyramid and per-pixel heads at
output stride 4 (FCOS / CRAFT lineage: one shot, anchor free, no NMS).

Heads (channel layout of the stride-4 output map, see `HEADS`):
    center  1  logit of the character centerness (Gaussian peaking at the character centre)
    box     4  log of the distances (in units of `stride` pixels) from the cell centre to the left, top,
               right and bottom side of the character's axis-aligned box on the image
    offset  2  exact character centre minus the cell centre, in units of `stride` pixels
    orient  4  logits of the reading direction of the text under the cell (0, 90, 180, 270 degrees)
    link    1  logit of the link (affinity) map between neighbouring characters of the same word

With `char_stride=2` a small fine head (`FineCharHead`) gives the character maps once more at stride 2
(`fine_center`, `fine_box`, `fine_offset`: the same layout, distances in units of 2 pixels), where thin
characters and punctuation sharing a stride-4 cell get their own cells. It reads the stem (stride 2) and the
stride-4 tower, and is trained with the rest of the network frozen (`lakeocr train detector --fine-head`), so
the stride-4 maps (words, links, orientation) stay as they were. Such a model's forward returns the `stem`
and `tower` features besides the stride-4 maps; the decoder runs the fine head on them, densely or only on
the few cells around each character (`FineCharHead.windows`).
"""
from __future__ import annotations

import copy

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

HEADS: dict[str, int] = {"center": 1, "box": 4, "offset": 2, "orient": 4, "link": 1}
FINE_HEADS: dict[str, int] = {"center": 1, "box": 4, "offset": 2}
FINE_STRIDE = 2


@dataclass(frozen=True)
class DetectorConfig:
    """Architecture and input recipe; stored next to the shipped weights (timm style)."""
    widths: tuple[int, ...] = (16, 32, 48, 96, 128)   # stem (s2), stages at s4, s8, s16, s32
    blocks: tuple[int, ...] = (1, 1, 2, 1)           # residual blocks per stage (s4..s32)
    fpn_width: int = 32
    stride: int = 4
    mean: float = 0.5                                 # gray in [0, 1] -> (x - mean) / std
    std: float = 0.25
    char_stride: int = 4                              # 2 = add the fine character head (FineCharHead)
    fine_width: int = 16

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
        return self.features(x)[1]

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The stem's output (stride 2) and every stage's."""
        x = stem = self.stem(x)
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return stem, feats


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


class FineCharHead(nn.Module):
    """Character maps at stride 2: the stride-4 tower projected and upsampled, added to the stem projected,
    one 3x3 conv, then a 1x1 conv giving FINE_HEADS. A few thousand parameters."""

    def __init__(self, stem_width: int, tower_width: int, width: int):
        super().__init__()
        self.lateral = nn.Conv2d(stem_width, width, 1)
        self.top = nn.Conv2d(tower_width, width, 1)
        self.conv = conv_bn(width, width)
        self.out = nn.Conv2d(width, sum(FINE_HEADS.values()), 1)
        with torch.no_grad():
            self.out.bias.zero_()
            self.out.bias[0] = -4.0

    def forward(self, stem: torch.Tensor, tower: torch.Tensor) -> dict[str, torch.Tensor]:
        """Dense fine maps (N, C, H/2, W/2) from the stem (N, ., H/2, W/2) and tower (N, ., H/4, W/4)."""
        x = self.lateral(stem) + F.interpolate(self.top(tower), size=stem.shape[-2:], mode="nearest")
        return _split_fine(self.out(self.conv(F.relu(x))))

    def windows(self, stem: torch.Tensor, tower: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor,
                radius: int = 1) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """The fine maps on the (2 radius + 1)^2 cells around each stride-2 cell (rows[i], cols[i]) of one image
        (stem (C, h2, w2), tower (C', h4, w4) with h4 = ceil(h2 / 2)), computed there only: the dense maps'
        values at those cells (the map's border padded with zeros, as the dense 3x3 conv). Returns
        ({name: (n, C, k, k)}, valid (n, k, k): the cell lies inside the map)."""
        ri, ci, inside = window_cells(rows.to(stem.device), cols.to(stem.device), radius + 1,
                                      stem.shape[-2:])    # one ring more for the 3x3 conv
        like = self.lateral.weight                             # gathered first: only these cells are cast
        # (h, w, C) views: each cell's channels sit together in memory for channels_last features
        s = stem.permute(1, 2, 0)[ri[:, :, None], ci[:, None, :]].permute(0, 3, 1, 2).to(like)
        t = tower.permute(1, 2, 0)[(ri // 2)[:, :, None], (ci // 2)[:, None, :]].permute(0, 3, 1, 2).to(like)
        x = F.relu(self.lateral(s) + self.top(t)) * inside[:, None].to(s.dtype)
        y = self.out(self.conv(x))[..., 1:-1, 1:-1]           # the inner cells saw their whole 3x3 input
        return _split_fine(y), inside[:, 1:-1, 1:-1]


def window_cells(rows: torch.Tensor, cols: torch.Tensor, radius: int,
                 shape: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The (2 radius + 1)^2 cells around each (rows[i], cols[i]) of a map of `shape`: row indices (n, k) and
    column indices (n, k) clamped into the map, and which cells lie inside it (n, k, k)."""
    steps = torch.arange(-radius, radius + 1, device=rows.device)
    ri, ci = rows.long()[:, None] + steps, cols.long()[:, None] + steps
    inside = ((ri >= 0) & (ri < shape[0]))[:, :, None] & ((ci >= 0) & (ci < shape[1]))[:, None, :]
    return ri.clamp(0, shape[0] - 1), ci.clamp(0, shape[1] - 1), inside


def _split_fine(y: torch.Tensor) -> dict[str, torch.Tensor]:
    return {f"fine_{k}": v for k, v in zip(FINE_HEADS, torch.split(y, list(FINE_HEADS.values()), dim=1))}


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
        if cfg.char_stride not in (FINE_STRIDE, cfg.stride):
            raise ValueError(f"char_stride must be {FINE_STRIDE} or the stride {cfg.stride}, got {cfg.char_stride}")
        self.fine = FineCharHead(cfg.widths[0], cfg.fpn_width, cfg.fine_width) \
            if cfg.char_stride == FINE_STRIDE else None

    def trunk(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The stem's features (stride 2) and the tower's (stride 4) that every head reads."""
        stem, feats = self.backbone.features(x)
        return stem, self.tower(self.fpn(feats))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """(N, 1, H, W) normalised pages -> dict of head maps (N, C, H/stride, W/stride), raw logits; with the
        fine head also the features it reads: `stem` (N, C, H/2, W/2) and `tower` (N, C, H/4, W/4)."""
        stem, tower = self.trunk(x)
        y = self.out(tower)
        maps = dict(zip(HEADS, torch.split(y, list(HEADS.values()), dim=1)))
        if self.fine is not None:
            maps.update(stem=stem, tower=tower)
        return maps

    def trunk_modules(self) -> list[nn.Module]:
        """Everything but the fine head (frozen while the fine head trains)."""
        return [self.backbone, self.fpn, self.tower, self.out]


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
