"""Small pure geometry functions over quads (see models.types for the convention)."""
from __future__ import annotations

import cv2
import numpy as np

from models.types import as_quad


def box_to_quad(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Axis-aligned box -> quad TL, TR, BR, BL."""
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)


def quad_to_box(quad) -> tuple[float, float, float, float]:
    """Quad -> enclosing axis-aligned box (x0, y0, x1, y1)."""
    q = as_quad(quad)
    return float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max())


def transform_quads(quads: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine or 3x3 perspective matrix to (..., 4, 2) points; the corner order is kept,
    so the reading-direction TL stays first (that is what rotates GT exactly with the image)."""
    pts = np.asarray(quads, dtype=np.float64)
    shape = pts.shape
    flat = pts.reshape(-1, 2)
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape == (2, 3):
        m = np.vstack([m, [0.0, 0.0, 1.0]])
    homo = np.hstack([flat, np.ones((len(flat), 1))]) @ m.T
    out = homo[:, :2] / homo[:, 2:3]
    return out.reshape(shape).astype(np.float32)


def rotation_matrix_90(k: int, width: int, height: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Matrix mapping points of a (width x height) image to the image rotated by k*90 degrees clockwise
    (what np.rot90(img, -k) produces); returns (2x3 matrix, (new_width, new_height))."""
    k %= 4
    if k == 0:
        return np.array([[1, 0, 0], [0, 1, 0]], np.float64), (width, height)
    if k == 1:   # (x, y) -> (H - y, x)
        return np.array([[0, -1, height], [1, 0, 0]], np.float64), (height, width)
    if k == 2:   # (x, y) -> (W - x, H - y)
        return np.array([[-1, 0, width], [0, -1, height]], np.float64), (width, height)
    return np.array([[0, 1, 0], [-1, 0, width]], np.float64), (height, width)   # (x, y) -> (y, W - x)


def quad_area(quad) -> float:
    q = np.asarray(quad, dtype=np.float64)
    x, y = q[:, 0], q[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


def polygon_iou(a, b) -> float:
    """IoU of two convex quads (exact polygon intersection, so rotated quads are handled)."""
    pa = np.asarray(a, dtype=np.float32).reshape(-1, 1, 2)
    pb = np.asarray(b, dtype=np.float32).reshape(-1, 1, 2)
    area_a, area_b = quad_area(pa.reshape(-1, 2)), quad_area(pb.reshape(-1, 2))
    if area_a <= 0 or area_b <= 0:
        return 0.0
    # intersectConvexConvex wants a consistent orientation; convexHull normalises it
    inter, _ = cv2.intersectConvexConvex(cv2.convexHull(pa), cv2.convexHull(pb))
    inter = max(float(inter), 0.0)
    union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0


def min_area_quad(points: np.ndarray, angle_hint: float | None = None) -> np.ndarray:
    """Tightest rotated rectangle around points, as a quad ordered TL, TR, BR, BL for text whose
    reading direction is `angle_hint` degrees (clockwise from +x); default: the rectangle's long side."""
    pts = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    rect = cv2.minAreaRect(pts)
    box = cv2.boxPoints(rect).astype(np.float32)
    return order_quad(box, angle_hint)


def order_quad(box: np.ndarray, angle_hint: float | None = None) -> np.ndarray:
    """Order 4 rectangle corners TL, TR, BR, BL relative to a reading direction (degrees, clockwise
    from +x; None = along the longer side, preferring left-to-right)."""
    box = np.asarray(box, dtype=np.float32).reshape(4, 2)
    c = box.mean(axis=0)
    if angle_hint is None:
        e0, e1 = box[1] - box[0], box[2] - box[1]
        edge = e0 if np.hypot(*e0) >= np.hypot(*e1) else e1
        ang = np.degrees(np.arctan2(edge[1], edge[0]))
        if ang > 90 or ang <= -90:     # prefer left-to-right when ambiguous
            ang = ang + 180 if ang <= -90 else ang - 180
        angle_hint = ang
    t = np.radians(angle_hint)
    d = np.array([np.cos(t), np.sin(t)], np.float32)      # reading direction
    n = np.array([-np.sin(t), np.cos(t)], np.float32)     # "down" for that text
    rel = box - c
    u, v = rel @ d, rel @ n
    tl = np.argmin(u + v)
    tr = np.argmax(u - v)
    br = np.argmax(u + v)
    bl = np.argmin(u - v)
    idx = [tl, tr, br, bl]
    if len(set(idx)) < 4:                 # degenerate (45 deg ties): fall back to angular order
        ang = np.arctan2(v, u)
        order = np.argsort(ang)           # clockwise on an image (y down) from -pi
        start = int(np.argmin(u + v))
        order = list(order)
        k = order.index(start)
        idx = order[k:] + order[:k]
    return box[idx]


def union_quad(quads, angle_hint: float | None = None) -> np.ndarray:
    """Rotated rectangle around several quads (word from chars, line from words)."""
    pts = np.asarray(quads, dtype=np.float32).reshape(-1, 2)
    return min_area_quad(pts, angle_hint)


def quad_angle(quad) -> float:
    """Reading direction of a quad in degrees, clockwise from +x (TL -> TR)."""
    q = as_quad(quad)
    d = q[1] - q[0]
    return float(np.degrees(np.arctan2(d[1], d[0])))


def gap_heights(a, b) -> float:
    """Gap from quad `a`'s end to quad `b`'s start along `a`'s reading direction (its TL -> TR edge; quads
    are TL-first in reading order), in units of their mean height; negative where they overlap."""
    qa, qb = np.asarray(a, np.float64), np.asarray(b, np.float64)
    d = qa[1] - qa[0]
    d = d / max(float(np.hypot(*d)), 1e-6)
    n = np.array([-d[1], d[0]])
    height = (np.ptp(qa @ n) + np.ptp(qb @ n)) / 2
    return float(((qb @ d).min() - (qa @ d).max()) / max(height, 1e-6))


def quad_size(q: np.ndarray) -> tuple[float, float]:
    """(width, height) of a quad: the means of its top and bottom edges' lengths and of its sides'."""
    w = float(np.hypot(*(q[1] - q[0])) + np.hypot(*(q[2] - q[3]))) / 2
    h = float(np.hypot(*(q[3] - q[0])) + np.hypot(*(q[2] - q[1]))) / 2
    return w, h


def quad_axes(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors along a quad's top edge (its reading direction) and down its left side."""
    ux = (q[1] - q[0]) / max(1e-6, float(np.hypot(*(q[1] - q[0]))))
    uy = (q[3] - q[0]) / max(1e-6, float(np.hypot(*(q[3] - q[0]))))
    return ux, uy


def warp_affine(image: np.ndarray, m: np.ndarray, size: tuple[int, int], flags: int = cv2.INTER_LINEAR) -> np.ndarray:
    """The (width, height) `size` frame that the 2x3 affine map `m` (image -> frame, in the pixel-corner
    coordinates of models.types) takes the image to; the border replicated."""
    shifted = np.array(m, np.float64)            # OpenCV maps pixel centres: shift both sides by half a pixel
    shifted[:, 2] += shifted[:, :2] @ np.array([0.5, 0.5]) - 0.5
    return cv2.warpAffine(image, shifted, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)


def crop_quad(image: np.ndarray, quad, height: int | None = None, pad: float = 0.0) -> np.ndarray:
    """Rectify the region under a quad into an upright crop (reading direction left to right):
    TL -> (0, 0), TR -> (w, 0), BR -> (w, h), BL -> (0, h). `height` rescales to a fixed height keeping
    the aspect; `pad` grows the quad by that fraction of its height on every side."""
    q = as_quad(quad).astype(np.float32)
    w, h = (max(1.0, v) for v in quad_size(q))
    if pad:
        ux, uy = quad_axes(q)
        d = pad * h
        signs = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float32)
        q = q + signs[:, :1] * ux * d + signs[:, 1:] * uy * d
        w, h = w + 2 * d, h + 2 * d
    shrink = height is not None and h > height
    if height is not None:
        scale = height / h
        w, h = max(1.0, w * scale), float(height)
    ow, oh = int(round(w)), int(round(h))
    dst = np.array([[0, 0], [ow, 0], [ow, oh], [0, oh]], np.float32)
    # quads use pixel-corner coordinates, OpenCV pixel centres: shift both by half a pixel
    m = cv2.getPerspectiveTransform(q - 0.5, dst - 0.5)
    return cv2.warpPerspective(image, m, (ow, oh), flags=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
