"""Separator rules typed as characters (`==========`, `----------`, `**********`) completed into one word.

The detector finds a typed rule in pieces: it links a few of its glyphs here and there (a 40-glyph `=` rule
came out as "======", "===", "====" and "=:" words, a skewed one as twenty), and the recognizer reads some
pieces with stray marks ("o=\"", ":="). Each piece is one word that matches nothing, and the rule's other
glyphs are no characters at all. The pipeline (models.pipeline, after the words are read, split and joined)
completes them from the ink instead:

- a *seed* is a read word at least half of whose characters, and at least two, are one rule character
  (RULE_CHARS), over at least two ink clusters of one size;
- from the seed, the rule's glyphs are followed along its reading direction both ways: the next ink cluster
  (components overlapping along the line, the two bars of an `=`) at most a glyph's gap plus GAP_SLACK pitches
  further, its centre within DRIFT heights of the last glyph's across the line (a skewed rule is followed,
  not cut), its height within SIZE_TOL of the seed's glyphs'; a cluster as long as k glyphs counts k;
- a chain of at least MIN_GLYPHS glyphs (and more than the seed read) becomes one word: the rule character
  (for `=` and `-`, read either way in pieces, the ink's: two bars a glyph or one) times the glyph count,
  its quad along the glyphs' fitted centre line around their ink, one character per glyph (the pipeline
  then lets models.charfit refit them and boxes the word round them, `hug_chars`); the read words with a
  rule character whose centres lie on it (the other pieces, stray marks read with them) are dropped into
  it, not a word of text just above or below. Lines follow: the rule is in the
  first line of its pieces; lines left empty go.

Only rules the detector found a piece of are completed: one it found nothing of stays unfound (on receipts
those rows are seldom labelled text).

Measured on the detector's 48 synthetic validation pages (docs/ARCHITECTURE.md, "Typed rules").
"""
from __future__ import annotations

import cv2
import numpy as np

from models.geometry import quad_axes, quad_size
from models.linefit import ink_mask
from models.recognition.data import to_gray
from models.types import Char, Line, Page, Word

RULE_CHARS = "=-*_~#"
MIN_GLYPHS = 8          # a shorter chain is left as it was read
GAP_SLACK = 0.6         # of the pitch, beyond the seed's own gap between glyphs
DRIFT = 0.5             # of the seed's height: how far across the line the next glyph's centre may move
SIZE_TOL = 0.4          # of the seed glyphs' height (plus a pixel)
MAX_GLYPH_H = 1.3       # ink taller than this many seed heights is not a glyph of the rule
MIN_AREA = 3            # page pixels: smaller components are specks


def _rule_char(text: str) -> str | None:
    text = text.replace(" ", "")
    for c in RULE_CHARS:
        n = text.count(c)
        if n >= 2 and 2 * n >= len(text):
            return c
    return None


class _Ink:
    """The page's ink components as boxes (x0, y0, x1, y1), projected on a reading frame on demand."""

    def __init__(self, gray: np.ndarray):
        _, _, stats, _ = cv2.connectedComponentsWithStats(ink_mask(gray), connectivity=8)
        stats = stats[1:][stats[1:, 4] >= MIN_AREA].astype(np.float64)
        self.boxes = np.stack([stats[:, 0], stats[:, 1], stats[:, 0] + stats[:, 2], stats[:, 1] + stats[:, 3]], 1)
        self.taken = np.zeros(len(self.boxes), bool)     # glyphs of a rule already completed

    def frame(self, origin: np.ndarray, ux: np.ndarray, uy: np.ndarray) -> np.ndarray:
        """(n, 4) [t0, t1, s0, s1]: each component's extent along ux and uy from origin."""
        b = self.boxes
        corners = np.stack([b[:, [0, 1]], b[:, [2, 1]], b[:, [2, 3]], b[:, [0, 3]]], 1) - origin
        t, s = corners @ ux, corners @ uy
        return np.stack([t.min(1), t.max(1), s.min(1), s.max(1)], 1)


def _cluster_at(ext: np.ndarray, pick: np.ndarray, first: int) -> np.ndarray:
    """Component `first` and those of `pick` (indices into ext) overlapping it, or each other in turn, along
    the line by half the narrower one's length: one glyph (the two bars of an `=`)."""
    members = np.array([first])
    lo, hi = ext[first, 0], ext[first, 1]
    while True:
        e = ext[pick]
        ov = np.minimum(e[:, 1], hi) - np.maximum(e[:, 0], lo)
        grown = np.union1d(members, pick[ov >= 0.5 * np.minimum(e[:, 1] - e[:, 0], hi - lo)])
        if len(grown) == len(members):
            return members
        members = grown
        lo, hi = ext[members, 0].min(), ext[members, 1].max()


def _glyph(ext: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """[t0, t1, s0, s1, how many components] of a glyph's components `idx`."""
    e = ext[idx]
    return np.array([e[:, 0].min(), e[:, 1].max(), e[:, 2].min(), e[:, 3].max(), len(idx)])


def _follow(ext: np.ndarray, used: np.ndarray, start: np.ndarray, ref_h: float, h: float, gap: float,
            direction: int) -> list[np.ndarray]:
    """Glyphs after `start` (t0, t1, s0, s1) along the line in `direction` (+1 right, -1 left)."""
    out: list[np.ndarray] = []
    last = start
    ec = (ext[:, 2] + ext[:, 3]) / 2
    while True:
        sc = (last[2] + last[3]) / 2
        if direction > 0:
            dist = ext[:, 0] - last[1]
        else:
            dist = last[0] - ext[:, 1]
        ok = (~used & (dist > -0.25 * (last[1] - last[0])) & (dist <= gap) & (np.abs(ec - sc) <= h)
              & (ext[:, 3] - ext[:, 2] <= MAX_GLYPH_H * h))
        pick = np.nonzero(ok)[0]
        if not len(pick):
            return out
        members = _cluster_at(ext, pick, pick[np.argmin(dist[pick])])
        g = _glyph(ext, members)
        if abs((g[3] - g[2]) - ref_h) > SIZE_TOL * ref_h + 1 or abs((g[2] + g[3]) / 2 - sc) > DRIFT * h:
            return out
        used[members] = True
        out.append(g)
        last = g


def _spacing(glyphs: list[np.ndarray]) -> tuple[float, float]:
    """(one glyph's length, the gap between glyphs) along the line: the lower quartile of the clusters'
    lengths (some are touching glyphs run together) and the median gap between them."""
    lengths = [g[1] - g[0] for g in glyphs]
    gaps = [max(b[0] - a[1], 0.0) for a, b in zip(glyphs, glyphs[1:])]
    return float(np.percentile(lengths, 25)), float(np.median(gaps)) if gaps else 0.0


def _counts(glyphs: list[np.ndarray]) -> list[int]:
    """How many glyphs each ink cluster holds (touching glyphs run into one)."""
    length, gap = _spacing(glyphs)
    return [max(1, int(round((g[1] - g[0] + gap) / max(length + gap, 1e-6)))) for g in glyphs]


def _rule_word(seed: Word, char: str, ink: _Ink) -> Word | None:
    """The seed's rule completed from the ink (components another rule took left out), or None; the
    components it takes are marked in `ink.taken`."""
    q = np.asarray(seed.quad, np.float64)
    ux, uy = quad_axes(q)
    w, h = quad_size(q)
    if w < 1 or h < 1:
        return None
    origin = q[0]
    ext = ink.frame(origin, ux, uy)
    mid = (ext[:, 0] + ext[:, 1]) / 2
    cs = (ext[:, 2] + ext[:, 3]) / 2
    inside = np.nonzero((mid >= 0) & (mid <= w) & (cs >= 0) & (cs <= h)
                        & (ext[:, 3] - ext[:, 2] <= MAX_GLYPH_H * h))[0]
    used = ink.taken.copy()
    inside = inside[~used[inside]]
    glyphs = []
    for i in inside[np.argsort(ext[inside, 0])]:
        if used[i]:
            continue
        members = _cluster_at(ext, inside[~used[inside]], i)
        used[members] = True
        glyphs.append(_glyph(ext, members))
    if len(glyphs) < 2:
        return None
    heights = np.array([g[3] - g[2] for g in glyphs])
    ref_h = float(np.median(heights))
    if np.any(np.abs(heights - ref_h) > SIZE_TOL * ref_h + 1):
        return None
    length, gap = _spacing(glyphs)
    if length <= 0:
        return None
    gap += GAP_SLACK * (length + gap)
    glyphs = (_follow(ext, used, glyphs[0], ref_h, h, gap, -1)[::-1] + glyphs
              + _follow(ext, used, glyphs[-1], ref_h, h, gap, +1))
    counts = _counts(glyphs)
    if sum(counts) < max(MIN_GLYPHS, len(seed.text.replace(" ", "")) + 1):
        return None
    ink.taken |= used
    if char in "=-":        # read either way in pieces: the ink tells (an `=` is two bars a glyph, `-` one)
        char = "=" if np.median([g[4] for g in glyphs]) >= 2 else "-"
    g = np.array(glyphs)
    tc, sc = (g[:, 0] + g[:, 1]) / 2, (g[:, 2] + g[:, 3]) / 2
    slope, icpt = (float(v) for v in np.polyfit(tc, sc, 1))
    n = np.array([-slope, 1.0]) / np.hypot(1.0, slope)           # across the rule, downwards, in (t, s)

    def quad(a: float, b: float, top: float, bottom: float) -> np.ndarray:
        """From a to b along the fitted centre line, top..bottom across it, in page coordinates."""
        pts = [np.array([t, slope * t + icpt]) + off * n
               for t, off in ((a, top), (b, top), (b, bottom), (a, bottom))]
        return np.array([origin + p[0] * ux + p[1] * uy for p in pts], np.float32)

    on_line = slope * tc + icpt
    word_quad = quad(float(g[:, 0].min()), float(g[:, 1].max()), float((g[:, 2] - on_line).min()),
                     float((g[:, 3] - on_line).max()))
    chars = []
    for gl, k in zip(glyphs, counts):
        line_s = slope * (gl[0] + gl[1]) / 2 + icpt
        step = (gl[1] - gl[0]) / k
        chars += [Char(char, quad(gl[0] + j * step, gl[0] + (j + 1) * step, gl[2] - line_s, gl[3] - line_s),
                       float(seed.conf)) for j in range(k)]
    return Word(quad=word_quad, text=char * sum(counts), conf=float(seed.conf), script=seed.script,
                orientation=seed.orientation, chars=chars, line_id=seed.line_id, block_id=seed.block_id)


def _on(word: Word, rule: Word) -> bool:
    """Is `word` a piece of the rule or a stray mark read on it: a rule character in its text, its centre
    on the rule, within half its own height (or the rule's) of the rule's centre line? (A word of text just
    above or below a rule is not.)"""
    if not any(c in RULE_CHARS for c in word.text):
        return False
    q = np.asarray(word.quad, np.float64)
    r = np.asarray(rule.quad, np.float64)
    rx, ry = quad_axes(r)
    rw, rh = quad_size(r)
    v = q.mean(0) - r.mean(0)
    return abs(v @ rx) <= rw / 2 and abs(v @ ry) <= 0.5 * max(quad_size(q)[1], rh)


def complete_rules(image: np.ndarray, page: Page) -> list[Word]:
    """Typed separator rules completed into one word each (see the module doc), in place; returns the rule
    words made."""
    seeds = [(i, c) for i, w in enumerate(page.words) if (c := _rule_char(w.text))]
    if not seeds:
        return []
    ink = _Ink(to_gray(image))
    absorbed: dict[int, int] = {}                 # word index -> rule index
    rules: list[Word] = []
    first: list[int] = []                         # rule index -> its first piece's word index
    for i, char in seeds:
        if i in absorbed:
            continue
        rule = _rule_word(page.words[i], char, ink)
        if rule is None:
            continue
        members = [k for k, w in enumerate(page.words)
                   if k not in absorbed and (k == i or _on(w, rule))]
        for k in members:
            absorbed[k] = len(rules)
        first.append(members[0])                # the rule takes its first piece's place
        rules.append(rule)
    if not rules:
        return []
    new_index: dict[int, int] = {}
    words: list[Word] = []
    for k, w in enumerate(page.words):
        if k in absorbed:
            if first[absorbed[k]] != k:
                continue
            w = rules[absorbed[k]]
        new_index[k] = len(words)
        words.append(w)
    placed: set[int] = set()                    # rules already in a line
    lines: list[Line] = []
    for line in page.lines:
        ids: list[int] = []
        for k in line.word_ids:
            j = new_index[first[absorbed[k]]] if k in absorbed else new_index[k]
            if j in ids or (k in absorbed and j in placed):
                continue
            ids.append(j)
            if k in absorbed:
                placed.add(j)
        if not ids:
            continue
        if all(k in absorbed for k in line.word_ids):       # a line of the rule's pieces: the rule's line
            line.quad = words[ids[0]].quad
        line.word_ids = ids
        lines.append(line)
    for li, line in enumerate(lines):
        for j in line.word_ids:
            words[j].line_id = li
    page.words, page.lines = words, lines
    return rules


def hug_chars(word: Word) -> None:
    """The word's quad made the box of its characters along its own axes (a rule's, once models.charfit
    has given its bars their height), in place."""
    if not word.chars:
        return
    q = np.asarray(word.quad, np.float64)
    ux, uy = quad_axes(q)
    pts = np.concatenate([np.asarray(c.quad, np.float64) for c in word.chars]) - q[0]
    t, s = pts @ ux, pts @ uy
    word.quad = np.array([q[0] + a * ux + b * uy for a, b in ((t.min(), s.min()), (t.max(), s.min()),
                                                            (t.max(), s.max()), (t.min(), s.max()))], np.float32)
