"""Pictures a person looks at: a page with its word boxes drawn (synth galleries, `lakeocr ocr --draw`,
the walkthrough notebook)."""
from __future__ import annotations

import cv2
import numpy as np

from models.types import Page

SCRIPT_COLORS = {"hangul": (220, 40, 40), "latin": (40, 90, 230), "digits": (20, 160, 60), "other": (200, 140, 0)}


def draw_boxes(img: np.ndarray, page: Page, scale: float = 1.0) -> np.ndarray:
    """RGB copy of `img` (already resized by `scale` from the page) with each word quad drawn in its
    script's colour and its text-relative TL corner marked by a dot."""
    im = img.copy() if img.ndim == 3 else np.repeat(img[:, :, None], 3, axis=2)
    lw = max(1, round(max(im.shape[:2]) / 1000))
    for w in page.words:
        color = SCRIPT_COLORS.get(w.script, (128, 128, 128))
        q = np.round(w.quad * scale).astype(np.int32)
        cv2.polylines(im, [q], True, color, lw)
        cv2.circle(im, tuple(int(v) for v in q[0]), lw + 1, color, -1)
    return im
