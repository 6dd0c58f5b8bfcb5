"""Detected words extended over the marks and letters just past their ends (models.pipeline, before the
words are read).

The detector's character head finds few punctuation marks and thin letters (docs/ARCHITECTURE.md), so a
word's box often stops before the period, colon or comma that ends it (`1.`, `No.:`, `Date:`), the mark
that starts it, or a first or last `l`, `1`, `t` or bracket, and the recognizer, reading the box, loses
them. Per word and end, in the word's upright frame (x along the reading direction), with the ink as in
models.linefit (Otsu, light-on-dark inverted):

- the word's own ink: the 8-connected components whose centre lies in its band (BAND heights beyond its top
  and bottom) and inside the box along the line; an end whose ink already runs past the box is left alone;
- from the last inked column on, the components in the band up to REACH heights past the end are taken in
  turn while each is at most MAX_W heights wide, lies in no other word's box, and is either a mark (at most
  MAX_H heights high, starting at most GAP heights after the ink before it) or a letter (at most LETTER_H
  high, at most LETTER_GAP after);
- the end moves past the last component taken (plus PAD heights), and a line holding the word grows with it.

Measured on the detector's 48 validation pages (docs/ARCHITECTURE.md, "Words extended over the marks and
letters past their ends").
"""
from __future__ import annotations

import cv2
import numpy as np

from models.geometry import quad_angle, quad_axes, quad_size, union_quad, warp_affine
from models.linefit import ink_mask, shift_edges
from models.recognition.data import to_gray
from models.types import Page

GAP = 0.35          # word heights from one mark (or the word's last ink) to the next
MAX_H, MAX_W = 0.55, 0.6    # a mark's largest height and width (also a letter's width), in word heights
LETTER_H, LETTER_GAP = 1.3, 0.3    # a taller component (a letter) is taken at most this high, this near
REACH = 1.2         # how far past the end marks are looked for, in word heights
BAND = 0.1          # a component's centre may lie this far above or below the box, in word heights
PAD = 0.05          # the moved end's distance past the last mark, in word heights
MIN_AREA = 2        # pixels; smaller components are specks


def _mark_reach(gray: np.ndarray, quad: np.ndarray, others: list[np.ndarray]) -> float:
    """How far (page pixels) the quad's right end (its TR-BR side) moves over the marks and letters past it; 0
    for none."""
    w, h = quad_size(quad)
    if h < 4 or w < 2:
        return 0.0
    ux, uy = quad_axes(quad)
    margin = 0.3 * h
    origin = quad[0] - uy * margin
    m = np.array([[ux[0], ux[1], -origin @ ux], [uy[0], uy[1], -origin @ uy]])
    size = (int(np.ceil(w + REACH * h)), int(np.ceil(h + 2 * margin)))
    crop = warp_affine(gray, m, size)
    _, _, stats, _ = cv2.connectedComponentsWithStats(ink_mask(crop), connectivity=8)
    boxes = [(x, y, x + cw, y + ch) for x, y, cw, ch, area in stats[1:].tolist()
             if area >= MIN_AREA and margin - BAND * h <= y + ch / 2 <= margin + h + BAND * h]
    own = [b for b in boxes if (b[0] + b[2]) / 2 <= w]
    if not own:
        return 0.0
    end = max(b[2] for b in own)
    if end > w + BAND * h:          # the ink runs on past the box: not a mark the box missed
        return 0.0
    reach, back = 0.0, np.linalg.inv(m[:, :2])
    for b in sorted((b for b in boxes if (b[0] + b[2]) / 2 > w), key=lambda b: b[0]):
        gap, height = b[0] - end, b[3] - b[1]
        mark = height <= MAX_H * h and gap <= GAP * h
        letter = height <= LETTER_H * h and gap <= LETTER_GAP * h
        if b[2] - b[0] > MAX_W * h or not (mark or letter):
            break
        centre = (np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2]) @ back.T + origin).astype(np.float32)
        if any(cv2.pointPolygonTest(q, (float(centre[0]), float(centre[1])), False) >= 0 for q in others):
            break
        end = max(end, b[2])
        reach = end - w + PAD * h
    return reach


def extend_to_marks(image: np.ndarray, page: Page) -> int:
    """Every word of the page extended over the marks and letters just past each of its ends (see the module
    doc), in place, and the lines holding one grown to cover it; returns how many ends moved."""
    if not page.words:
        return 0
    gray = to_gray(image)
    quads = [np.asarray(w.quad, np.float32) for w in page.words]
    moves = []
    for k, q in enumerate(quads):
        others = [o for j, o in enumerate(quads) if j != k]
        right = _mark_reach(gray, q.astype(np.float64), others)
        left = _mark_reach(gray, q[[1, 0, 3, 2]].astype(np.float64), others)    # mirrored: left end on the right
        moves.append((left, right))
    moved = set()
    for k, (left, right) in enumerate(moves):
        if left or right:
            page.words[k].quad = shift_edges(quads[k], 0.0, 0.0, left, right)
            moved.add(k)
    for line in page.lines:
        if moved.intersection(line.word_ids):
            line.quad = union_quad([line.quad] + [page.words[i].quad for i in line.word_ids],
                                   angle_hint=quad_angle(line.quad))
    return sum((left > 0) + (right > 0) for left, right in moves)
