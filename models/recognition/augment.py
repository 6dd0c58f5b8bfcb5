"""Batch augmentations on normalised crops (B, 1, H, W) (ink 1, paper 0), driven by a torch.Generator.

They never change a crop's valid width and keep the horizontal layout roughly in place, so the column
tokens of two views of one crop still correspond (what SeqCLR's instance mapping needs) and padding stays
blank (the result is re-masked with the widths).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _rand(b: int, lo: float, hi: float, g: torch.Generator) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(b, generator=g)


def valid_mask(widths: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """(B, 1, H, W) float mask: 1 inside each crop's valid width."""
    return (torch.arange(w)[None, :] < widths[:, None]).float()[:, None, None, :].expand(-1, 1, h, w)


def affine(x: torch.Tensor, widths: torch.Tensor, g: torch.Generator, strength: float) -> torch.Tensor:
    """Small slope (rotation about each crop's own centre), shear, vertical scale and shift; horizontal
    positions move by a few pixels at most."""
    b, _, h, w = x.shape
    slope = _rand(b, -0.035, 0.035, g) * strength                 # ~ +-2 degrees
    shear = _rand(b, -0.3, 0.3, g) * strength
    sy = 1 + _rand(b, -0.12, 0.12, g) * strength
    ty = _rand(b, -0.1, 0.1, g) * strength
    cx = (widths.float() / 2 - w / 2) / (w / 2)                     # crop centres, normalised x
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = 1.0, shear * h / w            # x_in = x + shear * y (pixels)
    theta[:, 1, 0], theta[:, 1, 1] = slope * w / h, sy             # y_in = sy * y + slope * (x - cx)
    theta[:, 1, 2] = ty - slope * w / h * cx
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def blur(x: torch.Tensor, g: torch.Generator, p: float) -> torch.Tensor:
    k = torch.tensor([0.25, 0.5, 0.25])
    blurred = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), (k[:, None] * k[None, :])[None, None])
    pick = (torch.rand(x.shape[0], generator=g) < p).float()[:, None, None, None]
    return pick * blurred + (1 - pick) * x


def morph(x: torch.Tensor, g: torch.Generator, p: float) -> torch.Tensor:
    """Thicken (dilate) or thin (erode) strokes with a 3x3 max/min filter on a random subset."""
    dil = F.max_pool2d(x, 3, 1, 1)
    ero = -F.max_pool2d(-x, 3, 1, 1)
    r = torch.rand(x.shape[0], generator=g)[:, None, None, None]
    return torch.where(r < p / 2, dil, torch.where(r < p, ero, x))


def photometric(x: torch.Tensor, g: torch.Generator, strength: float) -> torch.Tensor:
    """Contrast, background level and Gaussian noise."""
    b = x.shape[0]
    contrast = 1 + _rand(b, -0.4, 0.2, g)[:, None, None, None] * strength
    bg = _rand(b, 0, 0.15, g)[:, None, None, None] * strength
    noise = torch.randn(x.shape, generator=g) * (_rand(b, 0, 0.08, g) * strength)[:, None, None, None]
    return (x * contrast + bg + noise).clamp(0, 1)


def column_cutout(x: torch.Tensor, widths: torch.Tensor, g: torch.Generator, max_frac: float = 0.08) -> torch.Tensor:
    """Blank one random band of columns (at most max_frac of the crop) per crop, as FixMatch's cutout."""
    out = x.clone()
    for i, w in enumerate(widths.tolist()):
        band = int(torch.randint(0, max(1, int(w * max_frac)) + 1, (1,), generator=g))
        if band:
            start = int(torch.randint(0, max(1, w - band), (1,), generator=g))
            out[i, :, :, start: start + band] = 0
    return out


def weak(x: torch.Tensor, widths: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    return photometric(affine(x, widths, g, 0.3), g, 0.3) * valid_mask(widths, x.shape[2], x.shape[3])


def strong(x: torch.Tensor, widths: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    y = morph(blur(affine(x, widths, g, 1.0), g, 0.5), g, 0.5)
    y = photometric(column_cutout(y, widths, g), g, 1.0)
    return y * valid_mask(widths, x.shape[2], x.shape[3])
