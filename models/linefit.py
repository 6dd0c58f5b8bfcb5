"""Fit a text line's quad to the ink inside a loose box: the skew and the band of the main line.

Boxes drawn by people or other tools (SROIE's receipt lines, the GT of a benchmark) are often upright
rectangles around text that is printed a few degrees askew, so the box also holds the ends of the lines
above and below. The recognizer was trained on crops cut along the text with a small margin; a skewed line
in a tall box reaches it as a thin slanted stroke among fragments, and is misread wholesale.

`fit_line_quad` looks at the ink under the quad (Otsu, light-on-dark flipped as the recognizer does):
1. the skew: the shear of the rows (within +-MAX_SKEW degrees) whose ink profile across the line is sharpest
   (the sum of the squared row counts, the projection-profile criterion of classic deskewing), taken only
   where it moves the ink across by at least MIN_DRIFT of the line's height from end to end;
2. the main line: at that shear, the run of rows above a share of the peak row that holds the most ink,
   widened by BAND_GROW of its height on each side for ascenders and descenders that fall under the share,
   and kept inside the box.
The quad it returns is the parallelogram of that band along the box, in image coordinates, so that
`crop_quad` straightens it. Level text (|skew| < MIN_SKEW, or a drift under MIN_DRIFT) and boxes under
MIN_ASPECT heights wide are returned unchanged: well-cut boxes are read as before, and a level box is not
narrowed either (on a short or sparse line the run with the most ink can be a neighbour's).

`grow_to_ink` then moves the edges out over the characters they cut (a box drawn around the capitals and
x-height cuts the tails of g p q y, one drawn short its last letter); `fit_box` does both: how
bench/bench_recognizer.py real cuts GT boxes (the pipeline's given boxes, `fit_boxes`, are fit only and get
the readers' margin: growing them too was level or worse there, docs/ARCHITECTURE.md).
"""
from __future__ import annotations

import cv2
import numpy as np

from models.geometry import crop_quad, quad_size
from models.types import as_quad

MAX_SKEW = 8.0          # degrees searched either way
SKEW_STEP = 0.5         # degrees
MIN_SKEW = 1.0          # below this the text counts as level
MIN_DRIFT = 0.5         # a skew is taken only where it moves the ink this share of the band's height
MIN_ASPECT = 2.0        # boxes narrower than this many heights (a number, a colon) are left alone
ROW_SHARE = 0.1         # rows above this share of the peak row's ink belong to a band
BAND_GROW = 0.15        # the band widened by this share of its height on each side
WORK_HEIGHT = 96        # boxes taller than this are analysed scaled down to it
MIN_INK = 0.005         # a box with less ink than this share is left alone


def ink_mask(crop: np.ndarray) -> np.ndarray:
    """0/1 mask of a crop's ink: Otsu's threshold, the minority side (light text on a dark ground too)."""
    gray = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    if gray.dtype != np.uint8:
        raise ValueError(f"the ink mask needs a uint8 image, got {gray.dtype}")
    _, mask = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    if 2 * int(mask.sum()) > mask.size:          # light text on a dark background: the light is the ink
        mask = 1 - mask
    return mask


def _best_shear(ys: np.ndarray, xs: np.ndarray, cx: float, height: int) -> tuple[float, np.ndarray, int]:
    """(angle in degrees, row profile at that shear, the profile's row offset) for ink pixels (ys, xs)."""
    best = None
    span = int(np.ceil(abs(np.tan(np.radians(MAX_SKEW))) * cx)) + 1
    for angle in np.arange(-MAX_SKEW, MAX_SKEW + 1e-9, SKEW_STEP):
        rows = np.floor(ys - (xs - cx) * np.tan(np.radians(angle))).astype(np.int64) + span
        profile = np.bincount(rows, minlength=height + 2 * span)
        score = float(np.dot(profile, profile))
        # level text wins ties: a shear must sharpen the profile by a margin to be taken
        if best is None or score > best[0] * (1.0 + 1e-3) or (angle == 0.0 and score >= best[0] * (1 - 1e-3)):
            best = (score, float(angle), profile)
    return best[1], best[2], span


def _main_band(profile: np.ndarray) -> tuple[int, int]:
    """Rows [r0, r1) of the run above ROW_SHARE of the peak that holds the most ink."""
    smooth = np.convolve(profile.astype(np.float64), np.ones(3) / 3.0, mode="same")
    on = smooth > ROW_SHARE * smooth.max()
    edges = np.flatnonzero(np.diff(np.r_[0, on.astype(np.int8), 0]))
    starts, ends = edges[::2], edges[1::2]
    mass = [smooth[a:b].sum() for a, b in zip(starts, ends)]
    k = int(np.argmax(mass))
    return int(starts[k]), int(ends[k])


def fit_line_quad(image: np.ndarray, quad) -> np.ndarray:
    """The quad of the main text line inside `quad` (see the module doc), float32 (4, 2), corner order kept;
    `quad` itself when the box is already fit or holds (almost) no ink."""
    q = as_quad(quad).astype(np.float32)
    w, h = quad_size(q)
    if w < MIN_ASPECT * h or h < 4:
        return q
    work_h = int(min(round(h), WORK_HEIGHT))
    crop = crop_quad(image, q, height=work_h)
    mask = ink_mask(crop)
    ch, cw = mask.shape
    ys, xs = np.nonzero(mask)
    if len(ys) < MIN_INK * mask.size:
        return q
    cx = (cw - 1) / 2.0
    angle, profile, span = _best_shear(ys.astype(np.float64), xs.astype(np.float64), cx, ch)
    if abs(angle) < MIN_SKEW:
        return q
    r0, r1 = _main_band(profile)
    if abs(np.tan(np.radians(angle))) * cw < MIN_DRIFT * (r1 - r0):
        # a short word: its skew moves the ink less than MIN_DRIFT of its height end to end, so it is
        # neither measurable nor worth a shear (a word of three letters "found" 5 degrees)
        return q
    grow = BAND_GROW * (r1 - r0)
    # band rows at the centre column, never outside the box: the fit only narrows it
    top, bottom = max(r0 - span - grow, 0.0), min(r1 - span + grow, float(ch))
    t = np.tan(np.radians(angle))
    corners = np.array([[0.0, top - cx * t], [cw, top + (cw - cx) * t],
                        [cw, bottom + (cw - cx) * t], [0.0, bottom - cx * t]], np.float32)
    # back to the image: the inverse of crop_quad's map (pixel-corner coordinates, shifted as there)
    dst = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], np.float32)
    inv = cv2.getPerspectiveTransform(dst - 0.5, q - 0.5)
    out = cv2.perspectiveTransform(corners[None] - 0.5, inv)[0] + 0.5
    return out.astype(np.float32)


GROW_MAX = 0.35         # grow_to_ink moves an edge out by at most this share of the box's height
GROW_INSIDE = 0.4       # ... for ink that reaches at least this share of the height into the box
GROW_OWN = 0.5          # ... and has at least this share of its own height inside it


def shift_edges(q: np.ndarray, up: float, down: float, left: float = 0.0, right: float = 0.0) -> np.ndarray:
    """The quad with its top edge moved `up`, its bottom edge `down`, its left end `left` and its right end
    `right` pixels outward, along its sides and its top and bottom edges."""
    def unit(v):
        return v / max(1e-6, float(np.hypot(*v)))
    lside, rside, top, bottom = unit(q[3] - q[0]), unit(q[2] - q[1]), unit(q[1] - q[0]), unit(q[2] - q[3])
    return np.array([q[0] - up * lside - left * top, q[1] - up * rside + right * top,
                     q[2] + down * rside + right * bottom, q[3] + down * lside - left * bottom], np.float32)


def grow_to_ink(image: np.ndarray, quad) -> np.ndarray:
    """The quad with its edges moved out to the end of the characters they cut: a box drawn tight around a
    line's capitals and x-height (SROIE's GT lines) cuts the descenders of g p q y off, and a `y` without its
    tail reads as `v`, a `p` as `n`; a box drawn a little short cuts its last letter. Ink that crosses an
    edge counts when it belongs to the line: a connected component (Otsu, as `fit_line_quad`) no taller than
    1.6 heights (a rule) with at least GROW_OWN of its own height inside the box (not a neighbour line's
    tail reaching in), ending within GROW_MAX heights of the edge (ink that runs on is joined to a
    neighbour), reaching at least GROW_INSIDE of the box's height into it; across an end it is also no wider
    than 1.6 heights and has GROW_OWN of its width inside. Each edge moves to the furthest such ink; a box
    that cuts nothing is returned unchanged."""
    q = as_quad(quad).astype(np.float32)
    w, h = quad_size(q)
    if h < 4:
        return q
    g = GROW_MAX * h
    scale = min(1.0, WORK_HEIGHT / h)
    crop = crop_quad(image, shift_edges(q, g, g, g, g), height=max(4, int(round((h + 2 * g) * scale))))
    mask = ink_mask(crop)
    ch, cw = mask.shape
    sy, sx = ch / (h + 2 * g), cw / (w + 2 * g)                         # crop pixels per image pixel
    box = [g * sy, (g + h) * sy, g * sx, (g + w) * sx]                  # top, bottom, left, right in the crop
    inside, big = GROW_INSIDE * (box[1] - box[0]), 1.6 * (box[1] - box[0])
    _, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    new = list(box)
    for x, y, ww, hh in stats[1:, :4]:
        rows_in = min(y + hh, box[1]) - max(y, box[0])
        cols_in = min(x + ww, box[3]) - max(x, box[2])
        if hh > big or rows_in < max(GROW_OWN * hh, 1.0) or cols_in <= 0:
            continue                                    # a rule, or a neighbour line's ink reaching in
        tall = rows_in >= inside and y > 0 and y + hh < ch   # (ink running on past GROW_MAX: a neighbour's)
        wide = rows_in >= inside and ww <= big and cols_in >= GROW_OWN * ww and x > 0 and x + ww < cw
        if tall:
            new[0], new[1] = min(new[0], float(y)), max(new[1], float(y + hh))
        if wide:
            new[2], new[3] = min(new[2], float(x)), max(new[3], float(x + ww))
    if new == box:
        return q
    return shift_edges(q, (box[0] - new[0]) / sy, (new[1] - box[1]) / sy, (box[2] - new[2]) / sx,
                        (new[3] - box[3]) / sx)


def fit_box(image: np.ndarray, quad, grow: bool = True) -> np.ndarray:
    """A drawn box made ready to read: `fit_line_quad`, then (with `grow`) `grow_to_ink`."""
    q = fit_line_quad(image, quad)
    return grow_to_ink(image, q) if grow else q
