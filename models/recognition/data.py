"""Crop normalisation, padding and batches shared by training and the predictor.

Convention for the model's input: one channel, height `height` (32), float32, INK = 1 and BACKGROUND = 0
(`1 - gray / 255`, after flipping light-on-dark crops), so zero padding on the right is blank paper.
Widths are kept (no resizing) unless a crop is wider than `max_width`, which is squashed to it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np
import torch

DARK_BACKGROUND = 100    # a crop whose median gray level is below this is light text on dark: flipped
# Margin around a detected word quad, as a fraction of its height on every side, that word readers trained
# on rendered crops (ink box + 0.02-0.25 of the font size, models.synth.crops) expect. Chosen on held-out
# synthetic pages (detector boxes, word exact match 0.109 at 0 -> 0.231 at 0.08, ~0.25 at 0.12-0.15).
# Written into the weights' JSON recipe ("input"."crop_pad"); weights without it are read with 0.
WORD_CROP_PAD = 0.12


@dataclass(frozen=True)
class CropSpec:
    height: int = 32
    patch_width: int = 4
    max_width: int = 1536

    def to_dict(self) -> dict:
        return {"height": self.height, "patch_width": self.patch_width, "max_width": self.max_width,
                "normalisation": "gray; light-on-dark flipped; x = 1 - gray/255 (ink 1, paper 0); "
                                 "zero padding on the right"}


def to_gray(crop: np.ndarray) -> np.ndarray:
    """uint8 (H, W), (H, W, 1), (H, W, 3) RGB or (H, W, 4) RGBA -> uint8 (H, W). ValueError otherwise."""
    if not isinstance(crop, np.ndarray) or crop.dtype != np.uint8:
        raise ValueError(f"a crop is a uint8 numpy array, got {type(crop).__name__} "
                         f"{getattr(crop, 'dtype', '')}")
    if crop.ndim == 3 and crop.shape[2] == 1:
        crop = crop[:, :, 0]
    if crop.ndim == 3 and crop.shape[2] in (3, 4):
        crop = cv2.cvtColor(crop, cv2.COLOR_RGBA2GRAY if crop.shape[2] == 4 else cv2.COLOR_RGB2GRAY)
    if crop.ndim != 2 or crop.shape[0] < 2 or crop.shape[1] < 1:
        raise ValueError(f"a crop is (H, W) or (H, W, 1|3|4) with H >= 2, W >= 1; got shape {crop.shape}")
    return crop


def _gray_at_height(crop: np.ndarray, spec: CropSpec) -> np.ndarray:
    gray = to_gray(crop)
    h, w = gray.shape
    new_w = max(1, min(spec.max_width, int(round(w * spec.height / h))))
    if (h, w) != (spec.height, new_w):
        gray = cv2.resize(gray, (new_w, spec.height), interpolation=cv2.INTER_AREA if h > spec.height else cv2.INTER_LINEAR)
    return gray


def _dark(gray: np.ndarray) -> bool:
    # "the median gray level is below DARK_BACKGROUND", without a sort: more than half the pixels are darker
    return 2 * np.count_nonzero(gray < DARK_BACKGROUND) > gray.size


def _ink_of(gray: np.ndarray) -> tuple[np.ndarray, bool]:
    """The ink map of a gray crop at the model's height, and whether it was taken as light text on dark."""
    if _dark(gray):
        return np.ascontiguousarray(gray), True     # light text on a dark background: the light is the ink
    return cv2.bitwise_not(gray), False


def ink_crop(crop: np.ndarray, spec: CropSpec) -> np.ndarray:
    """Any uint8 crop -> uint8 (height, w) ink map (ink 255, paper 0; light-on-dark crops flipped), resized to
    the height, squashed to at most max_width. The predictors batch these (4x less memory than float) and
    scale to [0, 1] on their device; `normalize_crop` is the same as float32."""
    return _ink_of(_gray_at_height(crop, spec))[0]


# Light text on a gray or halftone (stippled) band, as receipts print their headers, has a median gray level
# above DARK_BACKGROUND, so `ink_crop` reads its band as ink. `ink_views` offers such crops a second map.
BAND_SMOOTH = 1.0      # sigma (px at the model's height) of the blur the two tones are told apart on
BAND_DESCREEN = 0.8    # sigma of the blur that melts a halftone screen in the reversed view


def ink_views(crop: np.ndarray, spec: CropSpec) -> tuple[np.ndarray, np.ndarray | None]:
    """`ink_crop`'s map, and where the crop may instead be light text on a darker band, that reading of it
    (else None): on the crop blurred by BAND_SMOOTH, Otsu's two tones, of which the light one is the smaller
    while `ink_crop` took the dark one for ink. The second map is the light tone as ink, blurred by
    BAND_DESCREEN (a halftone's dots melt into a gray) and stretched so the band's median is paper (0) and
    the light tone's 90th percentile full ink (255). Bold dark text in a tight box is often the larger tone
    too, so which map a crop is read with is the reader's choice (RecognitionPredictor.recognize)."""
    gray = _gray_at_height(crop, spec)
    ink, dark = _ink_of(gray)
    if dark or gray.size < 16:                         # already read as light on dark, or too small to tell
        return ink, None
    smooth = cv2.GaussianBlur(gray, (5, 5), BAND_SMOOTH)       # 5 taps (2 sigma): a third of the default 7's time
    t, _ = cv2.threshold(smooth, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    light = smooth > t
    n_light = np.count_nonzero(light)
    if not 0 < 2 * n_light < light.size:
        return ink, None
    band = cv2.GaussianBlur(gray, (0, 0), BAND_DESCREEN).astype(np.float32)
    paper, full = float(np.median(band[~light])), float(np.percentile(band[light], 90))
    if full - paper < 10:                              # no contrast between the tones: nothing to read
        return ink, None
    return ink, np.clip((band - paper) * (255.0 / (full - paper)), 0, 255).astype(np.uint8)


def normalize_crop(crop: np.ndarray, spec: CropSpec) -> np.ndarray:
    """Any uint8 crop -> float32 (height, w) with ink 1 / paper 0 (`ink_crop` / 255)."""
    return ink_crop(crop, spec).astype(np.float32) * np.float32(1.0 / 255.0)


def pad_batch(crops: Sequence[np.ndarray], patch_width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised (H, w_i) crops (float32, or uint8 of `ink_crop`) -> images (B, 1, H, W) of their dtype,
    zero-padded on the right to a multiple of patch_width, and widths (B,) int64 = the valid pixel width
    of each crop."""
    if not len(crops):
        raise ValueError("empty batch")
    h = crops[0].shape[0]
    widths = [c.shape[1] for c in crops]
    w = -(-max(widths) // patch_width) * patch_width
    out = np.zeros((len(crops), 1, h, w), crops[0].dtype)
    for i, c in enumerate(crops):
        if c.shape[0] != h:
            raise ValueError("all crops of a batch must share the height")
        out[i, 0, :, : c.shape[1]] = c
    return torch.from_numpy(out), torch.tensor(widths, dtype=torch.int64)


def to_model_input(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A padded batch on `device` as float32 in [0, 1] (uint8 ink maps are scaled there, after the copy)."""
    images = images.to(device, non_blocking=True)
    return images.float().mul_(1.0 / 255.0) if images.dtype == torch.uint8 else images


def width_buckets(widths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar width (sorted by width, then cut every batch_size),
    so little compute is spent on padding. Every index appears exactly once."""
    order = np.argsort(np.asarray(widths), kind="stable")
    return [order[i: i + batch_size].tolist() for i in range(0, len(order), batch_size)]


def encode_targets(texts: Sequence[str], charset) -> tuple[torch.Tensor, torch.Tensor]:
    """Texts -> (concatenated targets, target lengths) for CTC."""
    ids = [charset.encode(t) for t in texts]
    flat = [i for seq in ids for i in seq]
    return torch.tensor(flat, dtype=torch.int64), torch.tensor([len(s) for s in ids], dtype=torch.int64)
