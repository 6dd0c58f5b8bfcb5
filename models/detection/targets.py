"""Ground truth -> training maps at the output stride (the inverse of models.detection.decode).

Conventions:
- Cell (i, j) of a map at stride s covers image pixels [j*s, (j+1)*s) x [i*s, (i+1)*s); its centre is the
  image point ((j + 0.5) * s, (i + 0.5) * s).
- A character's *box* is the axis-aligned box (x0, y0, x1, y1) around its quad on the image; its *centre*
  is the centre of that box. For pages rotated by multiples of 90 degrees the box is the character box.
- Distances (l, t, r, b) are measured from a cell centre to the box's left, top, right and bottom sides
  (FCOS), in pixels; the box head predicts log(distance / s).

Maps (float32, (h, w) = (H / s, W / s)):
    center      Gaussian per character (sigma proportional to its box size), 1.0 at the centre cell,
                max over characters
    box_mask    1 where a cell regresses a box: the core of a character (center >= CORE) and its
                centre cell, each cell assigned to the character with the highest Gaussian there
    box         (4, h, w) distances l, t, r, b in pixels for box_mask cells
    offset      (2, h, w) (centre - cell centre) / s for box_mask cells
    link        1 on the CRAFT-style affinity band that joins consecutive character centres of one word
                (and a small core around every character centre, so a one-character word is one blob)
    orient      class index 0..3 (orientation / 90) on cells inside a word quad, -1 elsewhere
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from models.geometry import quad_to_box
from models.types import Page, Word

CORE = 0.3          # Gaussian level above which a cell regresses its character's box


@dataclass(frozen=True)
class TargetConfig:
    stride: int = 4
    sigma_frac: float = 0.15       # Gaussian sigma = max(min_sigma, sigma_frac * box size / stride) per axis
    min_sigma: float = 0.5         # in cells
    band_frac: float = 0.2         # half thickness of the link band, fraction of the character height
    core_frac: float = 0.2         # half size of the link core around a centre, fraction of the box


def char_boxes(page: Page) -> tuple[np.ndarray, np.ndarray]:
    """All characters of a page as (n, 4) boxes x0, y0, x1, y1 plus (n,) index of their word."""
    boxes, owner = [], []
    for wi, w in enumerate(page.words):
        for c in w.chars:
            boxes.append(quad_to_box(c.quad))
            owner.append(wi)
    return np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(owner, np.int64)


def _text_frame(word: Word) -> tuple[np.ndarray, np.ndarray]:
    """Unit reading direction and unit 'down' direction of a word, from its quad (TL->TR, TL->BL)."""
    q = np.asarray(word.quad, np.float32)
    d = q[1] - q[0]
    d = d / max(1e-6, float(np.hypot(*d)))
    n = np.array([-d[1], d[0]], np.float32)
    return d, n


def _gaussian_patch(center: np.ndarray, box: np.ndarray, shape: tuple[int, int], cfg: TargetConfig):
    """Gaussian of one character on its window of the map: (y0, y1, x0, x1, values) or None if outside."""
    s = cfg.stride
    h, w = shape
    cx, cy = center / s - 0.5                        # map coordinates of the centre
    sx = max(cfg.min_sigma, cfg.sigma_frac * (box[2] - box[0]) / s)
    sy = max(cfg.min_sigma, cfg.sigma_frac * (box[3] - box[1]) / s)
    x0, x1 = max(0, int(np.floor(cx - 3 * sx))), min(w, int(np.ceil(cx + 3 * sx)) + 1)
    y0, y1 = max(0, int(np.floor(cy - 3 * sy))), min(h, int(np.ceil(cy + 3 * sy)) + 1)
    if x0 >= x1 or y0 >= y1:
        return None
    xs = np.arange(x0, x1, dtype=np.float32)
    ys = np.arange(y0, y1, dtype=np.float32)
    g = np.exp(-((xs[None, :] - cx) ** 2) / (2 * sx * sx) - ((ys[:, None] - cy) ** 2) / (2 * sy * sy))
    ic, jc = int(np.floor(cy + 0.5)), int(np.floor(cx + 0.5))      # the cell holding the centre
    if y0 <= ic < y1 and x0 <= jc < x1:
        g[ic - y0, jc - x0] = 1.0
    return y0, y1, x0, x1, g.astype(np.float32)


def _fill(mask: np.ndarray, poly: np.ndarray, stride: int, value: int = 1) -> None:
    """Rasterise an image-space polygon onto a stride-s map (cell centres inside the polygon)."""
    pts = np.round((poly / stride - 0.5) * 16).astype(np.int32)    # 4 fractional bits
    cv2.fillPoly(mask, [pts.reshape(-1, 1, 2)], value, lineType=cv2.LINE_8, shift=4)


def _link_polys(word: Word, cfg: TargetConfig) -> list[np.ndarray]:
    """Affinity band polygons of a word: one quad per consecutive pair of characters (centre to centre,
    half thickness band_frac * height across the reading direction) plus a core box per character."""
    d, n = _text_frame(word)
    cs = [np.asarray(c.quad, np.float32) for c in word.chars]
    centres = [q.mean(axis=0) for q in cs]
    heights = [float(np.ptp(q @ n)) for q in cs]
    widths = [float(np.ptp(q @ d)) for q in cs]
    polys = []
    for c, h, wd in zip(centres, heights, widths):
        a, b = cfg.core_frac * wd + 1.0, cfg.core_frac * h + 1.0
        polys.append(np.stack([c - a * d - b * n, c + a * d - b * n, c + a * d + b * n, c - a * d + b * n]))
    for (ca, ha), (cb, hb) in zip(zip(centres, heights), zip(centres[1:], heights[1:])):
        ta, tb = cfg.band_frac * ha + 1.0, cfg.band_frac * hb + 1.0
        polys.append(np.stack([ca - ta * n, cb - tb * n, cb + tb * n, ca + ta * n]))
    return polys


def encode(page: Page, shape: tuple[int, int], cfg: TargetConfig = TargetConfig()) -> dict[str, np.ndarray]:
    """Training maps for an image of `shape` = (H, W) pixels (multiples of the stride) holding `page`."""
    s = cfg.stride
    H, W = shape
    if H % s or W % s:
        raise ValueError(f"image shape {shape} must be a multiple of the stride {s}")
    h, w = H // s, W // s
    center = np.zeros((h, w), np.float32)
    owner = np.full((h, w), -1, np.int64)            # character whose Gaussian is highest at the cell
    boxes, _ = char_boxes(page)
    centres = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], 1) if len(boxes) else \
        np.zeros((0, 2), np.float32)
    for k, (box, c) in enumerate(zip(boxes, centres)):
        patch = _gaussian_patch(c, box, (h, w), cfg)
        if patch is None:
            continue
        y0, y1, x0, x1, g = patch
        win = center[y0:y1, x0:x1]
        better = g > win
        win[better] = g[better]
        owner[y0:y1, x0:x1][better & (g >= CORE)] = k
    box_mask = owner >= 0
    ii, jj = np.nonzero(box_mask)
    k = owner[ii, jj]
    px, py = (jj + 0.5) * s, (ii + 0.5) * s
    dist = np.stack([px - boxes[k, 0], py - boxes[k, 1], boxes[k, 2] - px, boxes[k, 3] - py], 0)
    inside = np.all(dist > 0, axis=0)                # a core cell outside its (tiny) box is dropped
    box_mask[ii[~inside], jj[~inside]] = False
    box_t = np.zeros((4, h, w), np.float32)
    off_t = np.zeros((2, h, w), np.float32)
    box_t[:, ii[inside], jj[inside]] = dist[:, inside]
    off_t[0, ii[inside], jj[inside]] = (centres[k[inside], 0] - px[inside]) / s
    off_t[1, ii[inside], jj[inside]] = (centres[k[inside], 1] - py[inside]) / s
    link = np.zeros((h, w), np.uint8)
    orient = np.full((h, w), -1, np.int16)
    for word in page.words:
        _fill(orient, np.asarray(word.quad, np.float32), s, (int(word.orientation) // 90) % 4)
        for poly in _link_polys(word, cfg) if word.chars else []:
            _fill(link, poly, s)
    return {"center": center, "box_mask": box_mask.astype(np.float32), "box": box_t, "offset": off_t,
            "link": link.astype(np.float32), "orient": orient.astype(np.int64)}
