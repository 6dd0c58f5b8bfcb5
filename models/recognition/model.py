"""ColumnViTSTR: a ViTSTR-style recognizer whose patches are image columns, with a CTC head.

Input: a batch of normalised crops (B, 1, H, W) — ink ~1, background 0 (see models.recognition.data),
W a multiple of `patch_width` — plus the valid width of each crop in pixels. The crop is cut into
columns H x patch_width, left to right, so token t covers pixels [t*pw, (t+1)*pw) and token order is
reading order. Each column is embedded linearly (`stem="linear"`, ViTSTR's patch projection) or by a small
convolutional stem (`stem="conv"`: space-to-depth and three 3x3 conv layers pooled to one feature column per token, the
hybrid-ViT patch embedding: local strokes before attention), a learned position is added, a pre-norm transformer
encoder mixes the tokens (padding tokens are masked out of attention), and a linear CTC head predicts a
distribution over the charset (+ blank) for every token in parallel.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ColumnViTSTRConfig:
    num_classes: int
    height: int = 32
    patch_width: int = 4           # stride between tokens (pixels)
    patch_context: int = 0         # extra pixels each side a token sees (overlapping columns; 0 = none)
    patch_norm: bool = False       # LayerNorm on the column embeddings
    dim: int = 160
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 2.0
    max_tokens: int = 384          # longest sequence; the predictor squashes wider crops to fit
    dropout: float = 0.1
    stem: str = "linear"           # "linear" (one projection per column) | "conv" (ConvColumnEmbed)
    stem_channels: tuple[int, int, int] = (32, 48, 96)

    def __post_init__(self):
        if self.stem not in ("linear", "conv"):
            raise ValueError(f"stem must be 'linear' or 'conv', got {self.stem!r}")
        if self.stem == "conv" and (self.patch_width != 4 or self.height % 8):
            raise ValueError("the conv stem needs patch_width 4 and a height divisible by 8")
        object.__setattr__(self, "stem_channels", tuple(self.stem_channels))

    def to_dict(self) -> dict:
        return asdict(self)


class ConvColumnEmbed(nn.Module):
    """(B, 1, H, W) -> (B, W // 4, dim). 2x2 space-to-depth, then three 3x3 conv + ReLU layers pooled 2x2 and
    2x1, so each token is one column of H/8 x c3 features with a stride of 4 px, left to right, seeing a few
    pixels of its neighbours. Zero input is paper; no normalisation inside (nothing depends on the batch), and
    with `widths` the padding is re-zeroed after every layer, so a crop padded on the right reads the same
    as alone (its padded tokens are also masked out of attention later). Channels-last bf16 is fast on CPU."""

    def __init__(self, height: int, dim: int, channels: tuple[int, int, int] = (32, 48, 96)):
        super().__init__()
        c1, c2, c3 = channels
        self.height = height
        self.conv1 = nn.Conv2d(4, c1, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1, bias=False)
        self.conv3 = nn.Conv2d(c2, c3, 3, padding=1, bias=False)
        self.proj = nn.Linear(c3 * (height // 8), dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, images: torch.Tensor, widths: torch.Tensor | None = None) -> torch.Tensor:
        """`widths` (B,) valid pixel widths: features right of a crop are zeroed after every layer, so what
        a convolution sees past a crop's edge is paper, as when the crop is alone."""
        b, c, h, w = images.shape
        if c != 1 or h != self.height or w % 4:
            raise ValueError(f"expected (B, 1, {self.height}, k*4), got {tuple(images.shape)}")

        def mask(x: torch.Tensor, div: int) -> torch.Tensor:
            if widths is None:
                return x
            valid = torch.div(widths.to(x.device) + div - 1, div, rounding_mode="floor")
            keep = torch.arange(x.shape[-1], device=x.device)[None, :] < valid[:, None]
            return x * keep[:, None, None, :].to(x.dtype)

        x = F.pixel_unshuffle(images, 2).contiguous(memory_format=torch.channels_last)
        x = mask(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(mask(F.relu(self.conv2(x)), 2), 2, 2)
        x = F.max_pool2d(mask(F.relu(self.conv3(x)), 4), (2, 1), (2, 1))     # (B, c3, H/8, W/4)
        return self.norm(self.proj(x.flatten(1, 2).transpose(1, 2)))        # (B, W/4, dim)


class ColumnPatchEmbed(nn.Module):
    """(B, 1, H, W) -> (B, W // pw, dim): token t embeds (linearly) the full-height column of pixels
    [t*pw - c, (t+1)*pw + c), c = context (zeros = paper outside the image), left to right."""

    def __init__(self, height: int, patch_width: int, dim: int, context: int = 0, norm: bool = False):
        super().__init__()
        self.height, self.patch_width, self.context = height, patch_width, context
        self.proj = nn.Linear(height * (patch_width + 2 * context), dim)
        self.norm = nn.LayerNorm(dim) if norm else nn.Identity()

    def patches(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) -> (B, T, H * (pw + 2c)) raw column patches, left to right, row-major inside."""
        b, c, h, w = images.shape
        if c != 1 or h != self.height or w % self.patch_width:
            raise ValueError(f"expected (B, 1, {self.height}, k*{self.patch_width}), got {tuple(images.shape)}")
        x = F.pad(images, (self.context, self.context)) if self.context else images
        cols = x[:, 0].unfold(2, self.patch_width + 2 * self.context, self.patch_width)   # (B, H, T, k)
        return cols.permute(0, 2, 1, 3).reshape(b, w // self.patch_width, -1)

    def forward(self, images: torch.Tensor, widths: torch.Tensor | None = None) -> torch.Tensor:
        return self.norm(self.proj(self.patches(images)))   # right padding and image border: zeros alike


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
        """x (B, T, D); keep (B, T) bool, True for real tokens (padding keys get no attention)."""
        b, t, d = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        mask = None if keep is None else keep[:, None, None, :]
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.proj(y.transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float, dropout: float):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1, self.attn = nn.LayerNorm(dim), Attention(dim, heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), keep)
        return x + self.mlp(self.norm2(x))


class ColumnViTSTR(nn.Module):
    def __init__(self, cfg: ColumnViTSTRConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = (ConvColumnEmbed(cfg.height, cfg.dim, cfg.stem_channels) if cfg.stem == "conv" else
                      ColumnPatchEmbed(cfg.height, cfg.patch_width, cfg.dim, cfg.patch_context, cfg.patch_norm))
        self.pos = nn.Parameter(torch.zeros(1, cfg.max_tokens, cfg.dim))
        nn.init.trunc_normal_(self.pos, std=0.02)
        self.blocks = nn.ModuleList(Block(cfg.dim, cfg.heads, cfg.mlp_ratio, cfg.dropout) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(cfg.dim)
        self.head = nn.Linear(cfg.dim, cfg.num_classes)

    def token_lengths(self, widths: torch.Tensor) -> torch.Tensor:
        """Valid pixel widths -> number of valid tokens (a partly covered last column counts)."""
        return torch.div(widths + self.cfg.patch_width - 1, self.cfg.patch_width, rounding_mode="floor").clamp(min=1)

    def features(self, images: torch.Tensor, widths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder output (B, T, D) and the keep mask (B, T) (True = real token)."""
        x = self.embed(images, widths)
        b, t, _ = x.shape
        if t > self.cfg.max_tokens:
            raise ValueError(f"{t} tokens > max_tokens {self.cfg.max_tokens}; squash wide crops first")
        if widths is None:
            keep = torch.ones(b, t, dtype=torch.bool, device=x.device)
        else:
            keep = torch.arange(t, device=x.device)[None, :] < self.token_lengths(widths.to(x.device))[:, None]
        x = x + self.pos[:, :t]
        attn_keep = None if bool(keep.all()) else keep
        for blk in self.blocks:
            x = blk(x, attn_keep)
        return self.norm(x), keep

    def forward(self, images: torch.Tensor, widths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (logits (B, T, num_classes), token lengths (B,))."""
        feats, keep = self.features(images, widths)
        return self.head(feats), keep.sum(1)


def ctc_loss(logits: torch.Tensor, lengths: torch.Tensor, targets: torch.Tensor, target_lengths: torch.Tensor,
             reduction: str = "mean") -> torch.Tensor:
    """CTC loss (blank = 0) over (B, T, C) logits; targets concatenated (sum(target_lengths),).
    Impossible alignments (more labels than tokens) contribute zero instead of inf."""
    log_probs = logits.float().log_softmax(-1).transpose(0, 1)          # (T, B, C)
    return F.ctc_loss(log_probs, targets, lengths, target_lengths, blank=0, reduction=reduction,
                      zero_infinity=True)
