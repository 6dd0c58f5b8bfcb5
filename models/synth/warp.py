"""Geometric transforms of a rendered page, applied to the image and to every quad of its ground truth
with the same matrix (models.geometry.transform_quads), so GT stays exact.

Point convention: continuous pixel coordinates (pixel i covers [i, i+1)), as in models.types. OpenCV's
warp functions address pixel centres, so matrices are conjugated by a half-pixel shift before warping.
"""
from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from models.geometry import rotation_matrix_90, transform_quads
from models.types import Char, Page


def transform_page(page: Page, matrix: np.ndarray, width: int, height: int, turn: int = 0) -> Page:
    """A copy of `page` with every quad (chars, words, lines, blocks) mapped through a 2x3/3x3 matrix and the
    new size; `turn` (degrees clockwise) is added to page and word orientation. The input is not modified."""
    m = np.asarray(matrix, np.float64)
    if m.shape == (2, 3):
        m = np.vstack([m, [0.0, 0.0, 1.0]])
    words = []
    for w in page.words:
        chars = w.chars
        if chars:
            qs = transform_quads(np.stack([c.quad for c in chars]), m)
            chars = [Char(c.text, q, c.score) for c, q in zip(chars, qs)]
        words.append(replace(w, quad=transform_quads(w.quad, m), chars=chars,
                             orientation=(w.orientation + turn) % 360))
    lines = [replace(ln, quad=transform_quads(ln.quad, m), word_ids=list(ln.word_ids)) for ln in page.lines]
    blocks = [replace(b, quad=transform_quads(b.quad, m), line_ids=list(b.line_ids)) for b in page.blocks]
    return replace(page, words=words, lines=lines, blocks=blocks, width=int(width), height=int(height),
                   orientation=(page.orientation + turn) % 360)


def rotate90(img: np.ndarray, page: Page, k: int) -> tuple[np.ndarray, Page]:
    """Rotate image and GT by k*90 degrees clockwise (np.rot90(img, -k))."""
    k %= 4
    if k == 0:
        return img, page
    h, w = img.shape[:2]
    m, (nw, nh) = rotation_matrix_90(k, w, h)
    out = np.ascontiguousarray(np.rot90(img, -k))
    return out, transform_page(page, m, nw, nh, turn=90 * k)


def _to_cv(m: np.ndarray) -> np.ndarray:
    """Continuous-coordinate matrix -> OpenCV pixel-centre matrix: T(-0.5) @ M @ T(+0.5)."""
    t_in = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]], np.float64)
    t_out = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1]], np.float64)
    return t_out @ m @ t_in


def skew_perspective(img: np.ndarray, page: Page, rng: np.random.Generator, *, max_angle: float = 2.5,
                     perspective: float = 0.02, border=255) -> tuple[np.ndarray, Page]:
    """Small rotation (uniform in +-max_angle degrees) and corner jitter (fraction of the page side), with the
    canvas grown to hold the whole page; GT quads are mapped by the same homography."""
    h, w = img.shape[:2]
    a = np.radians(rng.uniform(-max_angle, max_angle))
    c, s = np.cos(a), np.sin(a)
    cx, cy = w / 2, h / 2
    rot = np.array([[c, -s, cx - c * cx + s * cy], [s, c, cy - s * cx - c * cy], [0, 0, 1]], np.float64)
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    jitter = rng.uniform(-perspective, perspective, (4, 2)) * min(w, h)
    persp = cv2.getPerspectiveTransform(src, (src + jitter).astype(np.float32)).astype(np.float64)
    m = rot @ persp
    corners = transform_quads(src, m)
    x0, y0 = np.floor(corners.min(axis=0))
    x1, y1 = np.ceil(corners.max(axis=0))
    m = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64) @ m
    nw, nh = int(x1 - x0), int(y1 - y0)
    bv = (border,) * 3 if np.isscalar(border) else tuple(border)
    out = cv2.warpPerspective(img, _to_cv(m), (nw, nh), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=bv)
    return out, transform_page(page, m, nw, nh)
