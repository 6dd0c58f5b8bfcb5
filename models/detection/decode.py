"""Head maps -> characters, words, lines and orientation, without NMS (the inverse of targets.encode).

1. characters: local maxima of the centerness map (3x3 max-pool trick) above `center_thr`; each peak
   gives one box from its FCOS distances and one exact centre from its offset;
2. words: connected components (4-connectivity) of the link map above `link_thr`, every peak cell
   added so that each character falls in a component; characters of one component form a word;
3. orientation: the reading axis (horizontal / vertical) per page and per word from the orientation
   probabilities (page: summed over all word cells; word: log of its mean + orient_prior * log page); the
   direction along the axis from the network's probabilities, or with orient_mode="geometry" from the
   predicted glyph boxes (`upright_score`: small marks sit low, baselines align);
4. quads: characters are ordered along the reading direction, the word quad is the rectangle around its
   characters aligned with the line through their centres; words are grouped into lines by geometry
   (same orientation, overlapping across the reading direction, a gap below `line_gap` heights).

Coordinates are pixels of the map's input image (the predictor rescales them to the original page).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from models.types import Char, Line, Page, Word
from models.unionfind import DisjointSets

MIN_SPAN = 4.0      # a word's skew is estimated only over at least this many character heights
MAX_SKEW = 15.0     # degrees


@dataclass(frozen=True)
class DecodeConfig:
    # chosen on 48 held-out synthetic pages with bench/sweep_decode.py, never on benchdata: word H-mean 0.717
    # at link 0.3 / split 0.8 -> 0.864 at link 0.65 / split 1.0 (pages at max_side 1600). The shipped
    # detector.json reads pages at max_side 2048, where link 0.55 is best (0.896); these defaults are the
    # training scale's
    center_thr: float = 0.3
    link_thr: float = 0.65
    line_gap: float = 1.5          # max gap between words of a line, in word heights
    line_overlap: float = 0.5      # min overlap across the reading direction, fraction of the smaller height
    orient_prior: float = 1.0      # weight of the page's orientation in each word's (log-probability) vote
    orient_mode: str = "net"       # up vs down along the reading axis: "net" or "geometry" (upright_score)
    split_gap: float = 1.0         # a link component is cut where characters are further apart (in heights)
    split_shift: float = 0.6       # ... or where they sit on different lines (offset across, in heights)

    def to_dict(self) -> dict:
        return asdict(self)


def find_peaks(center: torch.Tensor, thr: float) -> torch.Tensor:
    """(h, w) probabilities -> (n, 2) long tensor of (row, col) local maxima above thr (3x3 max-pool)."""
    pooled = F.max_pool2d(center[None, None], 3, stride=1, padding=1)[0, 0]
    return torch.nonzero((center == pooled) & (center > thr))


def rotated_rect(points: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rectangle around points aligned with a reading direction (degrees clockwise from +x), as a quad
    TL, TR, BR, BL of that reading direction."""
    t = np.radians(angle_deg)
    d = np.array([np.cos(t), np.sin(t)])
    n = np.array([-np.sin(t), np.cos(t)])
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    u, v = pts @ d, pts @ n
    u0, u1, v0, v1 = u.min(), u.max(), v.min(), v.max()
    return np.stack([u0 * d + v0 * n, u1 * d + v0 * n, u1 * d + v1 * n, u0 * d + v1 * n]).astype(np.float32)


def _word_angle(centres: np.ndarray, orientation: int, height: float) -> float:
    """Reading direction of a word or line in degrees: the orientation, refined by the line through the
    character centres when they span at least MIN_SPAN heights (kept within MAX_SKEW degrees)."""
    base = float(orientation)
    if len(centres) < 3:
        return base
    c = centres - centres.mean(axis=0)
    _, _, vt = np.linalg.svd(c, full_matrices=False)
    d = vt[0]
    if np.ptp(c @ d) < MIN_SPAN * height:
        return base
    ref = np.array([np.cos(np.radians(base)), np.sin(np.radians(base))])
    if d @ ref < 0:
        d = -d
    ang = float(np.degrees(np.arctan2(d[1], d[0])))
    delta = (ang - base + 180) % 360 - 180
    return base + delta if abs(delta) <= MAX_SKEW else base


def _box_quads(boxes: np.ndarray, angle: float) -> np.ndarray:
    """(k, 4) axis-aligned boxes -> (k, 4, 2) quads whose first corner is the top-left for text read at
    `angle` (rounded to the nearest multiple of 90 degrees: the corner list TL, TR, BR, BL is rolled)."""
    q = boxes[:, [[0, 1], [2, 1], [2, 3], [0, 3]]]          # (k, 4, 2): TL, TR, BR, BL of upright text
    return np.roll(q, -(int(round(angle / 90.0)) % 4), axis=1).astype(np.float32)


def decode_maps(maps: dict[str, torch.Tensor], stride: int, size: tuple[int, int],
                cfg: DecodeConfig = DecodeConfig()) -> Page:
    """One image's head maps (C, h, w) -> Page of `size` = (width, height) with chars, words, lines and
    orientation. `maps` hold raw logits as the model returns them."""
    width, height = size
    center = torch.sigmoid(maps["center"][0].float())
    peaks = find_peaks(center, cfg.center_thr)
    if len(peaks) == 0:
        return Page(width=width, height=height)
    ii, jj = peaks[:, 0], peaks[:, 1]
    dist = torch.exp(maps["box"][:, ii, jj].float()).T.numpy() * stride          # (n, 4) l, t, r, b
    off = maps["offset"][:, ii, jj].float().T.numpy() * stride
    px = (jj.numpy() + 0.5) * stride
    py = (ii.numpy() + 0.5) * stride
    boxes = np.stack([px - dist[:, 0], py - dist[:, 1], px + dist[:, 2], py + dist[:, 3]], 1)
    centres = np.stack([px + off[:, 0], py + off[:, 1]], 1)
    scores = center[ii, jj].numpy()

    link = (torch.sigmoid(maps["link"][0].float()) > cfg.link_thr).numpy().astype(np.uint8)
    link[ii.numpy(), jj.numpy()] = 1
    _, labels = cv2.connectedComponents(link, connectivity=4)
    comp = labels[ii.numpy(), jj.numpy()]
    orient_prob = torch.softmax(maps["orient"].float(), dim=0)                  # (4, h, w)
    flat, n_labels = labels.ravel(), labels.max() + 1
    orient_sum = np.stack([np.bincount(flat, weights=p.ravel(), minlength=n_labels)
                           for p in orient_prob.double().numpy()], 1)
    labels_used = np.unique(comp)
    word_p = orient_sum[labels_used] / orient_sum[labels_used].sum(axis=1, keepdims=True)
    page_p = orient_sum[labels_used].sum(axis=0) / orient_sum[labels_used].sum()
    word_p = np.exp(np.log(word_p + 1e-6) + cfg.orient_prior * np.log(page_p + 1e-6))
    # the axis (horizontal / vertical reading) comes from the network, per page and per word
    page_axis = int(page_p[1] + page_p[3] > page_p[0] + page_p[2])
    word_axis = (word_p[:, 1] + word_p[:, 3] > word_p[:, 0] + word_p[:, 2]).astype(int)
    order = np.argsort(comp, kind="stable")             # the peaks of each component, in peak order
    members = np.split(order, np.searchsorted(comp[order], labels_used[1:]))
    groups = [(idx, int(a)) for members_, a in zip(members, word_axis)
              for idx in split_component(members_, boxes, centres, 90 * int(a), cfg)]
    # the direction along the axis (0 vs 180, 90 vs 270): the network's vote or the glyph geometry
    if cfg.orient_mode == "geometry":
        flipped = upright_score([boxes[i] for i, a in groups if a == page_axis], 90 * page_axis) < 0
    else:
        flipped = page_p[page_axis + 2] > page_p[page_axis]
    page_orient = 90 * page_axis + 180 * int(flipped)
    words = []
    for (idx, a), label in zip(groups, [comp[i[0]] for i, _ in groups]):
        if a == page_axis:
            orientation = page_orient
        else:
            wp = word_p[np.searchsorted(labels_used, label)]
            orientation = 90 * a + 180 * int(wp[a + 2] > wp[a])
        words.append(_make_word(boxes[idx], centres[idx], scores[idx], orientation))
    page = Page(width=width, height=height, words=words, orientation=page_orient)
    group_lines(page, cfg)
    return page


def upright_score(word_boxes: list[np.ndarray], orientation: int, align_weight: float = 0.25) -> float:
    """Glyph-geometry evidence that text read at `orientation` is upright (> 0) rather than upside down
    (< 0): small characters (. , _ and the like, under 45% of the word's median height) sit in the lower
    half of a word, and character bottoms (the baseline) align better than tops (ascenders, capitals).
    `word_boxes`: per word, its characters' axis-aligned boxes (k, 4)."""
    t = np.radians(orientation)
    n = np.array([-np.sin(t), np.cos(t)])          # 'down' for upright text at that orientation
    small = align = 0.0
    for b in word_boxes:
        if len(b) < 2:
            continue
        corners = np.stack([b[:, [0, 1]], b[:, [2, 1]], b[:, [2, 3]], b[:, [0, 3]]], 1)
        v = corners @ n
        top, bot = v.min(1), v.max(1)
        hs = bot - top
        h = float(np.median(hs))
        if h <= 0:
            continue
        mid, word_mid = (top + bot) / 2, (np.median(top) + np.median(bot)) / 2
        is_small = hs < 0.45 * h
        small += np.sum(is_small & (mid > word_mid)) - np.sum(is_small & (mid < word_mid))
        align += np.sum(np.abs(bot - np.median(bot)) < 0.1 * h) - np.sum(np.abs(top - np.median(top)) < 0.1 * h)
    return float(small + align_weight * align)


def split_component(idx: np.ndarray, boxes: np.ndarray, centres: np.ndarray, orientation: int,
                    cfg: DecodeConfig = DecodeConfig()) -> list[np.ndarray]:
    """Safety net under the link map: cut one component's characters into rows (offset across the reading
    direction above `split_shift` heights) and each row at gaps wider than `split_gap` heights."""
    if len(idx) < 2:
        return [idx]
    t = np.radians(orientation)
    d, n = np.array([np.cos(t), np.sin(t)]), np.array([-np.sin(t), np.cos(t)])
    b = boxes[idx]
    corners = np.stack([b[:, [0, 1]], b[:, [2, 1]], b[:, [2, 3]], b[:, [0, 3]]], 1)        # (k, 4, 2)
    u, v = corners @ d, corners @ n                                                      # (k, 4)
    u0, u1, height = u.min(1), u.max(1), v.max(1) - v.min(1)
    vc = centres[idx] @ n
    h = float(np.median(height))
    rows: list[list[int]] = []
    total = 0.0                       # running sum of the current row's centres (its mean decides)
    for k in np.argsort(vc):
        if rows and abs(vc[k] - total / len(rows[-1])) <= cfg.split_shift * h:
            rows[-1].append(int(k))
            total += vc[k]
        else:
            rows.append([int(k)])
            total = vc[k]
    out = []
    for row in rows:
        row = np.asarray(row)[np.argsort(u0[row], kind="stable")]
        reach = np.maximum.accumulate(u1[row])
        cuts = np.nonzero(u0[row[1:]] - reach[:-1] > cfg.split_gap * h)[0] + 1
        out.extend(idx[part] for part in np.split(row, cuts))
    return out


def _make_word(boxes: np.ndarray, centres: np.ndarray, scores: np.ndarray, orientation: int) -> Word:
    """Characters of one word (ordered along the reading direction) and its rotated quad."""
    sizes = boxes[:, 2] - boxes[:, 0] if orientation % 180 else boxes[:, 3] - boxes[:, 1]
    angle = _word_angle(centres, orientation, float(np.median(sizes)))
    t = np.radians(angle)
    order = np.argsort(centres @ np.array([np.cos(t), np.sin(t)]))
    quads = _box_quads(boxes[order], angle)
    chars = [Char("", q, float(scores[k])) for q, k in zip(quads, order)]
    corners = np.concatenate([c.quad for c in chars])
    return Word(quad=rotated_rect(corners, angle), conf=float(scores.mean()), orientation=orientation,
                chars=chars)


def _frame(word: Word) -> tuple[float, float, float, float]:
    """(u0, u1, v0, v1): extent of a word along and across its page's reading direction."""
    t = np.radians(word.orientation)
    d = np.array([np.cos(t), np.sin(t)])
    n = np.array([-np.sin(t), np.cos(t)])
    q = np.asarray(word.quad, np.float64)
    u, v = q @ d, q @ n
    return u.min(), u.max(), v.min(), v.max()


def group_lines(page: Page, cfg: DecodeConfig = DecodeConfig()) -> None:
    """Group words into lines (in place): union-find over word pairs of the same orientation that overlap
    across the reading direction and are close along it; words are reordered line by line, reading order."""
    n = len(page.words)
    ext = [_frame(w) for w in page.words]
    sets = DisjointSets(n)

    if n > 1:
        e = np.asarray(ext)                                   # (n, 4) u0, u1, v0, v1
        o = np.asarray([w.orientation for w in page.words])
        h = e[:, 3] - e[:, 2]
        overlap = np.minimum(e[:, None, 3], e[None, :, 3]) - np.maximum(e[:, None, 2], e[None, :, 2])
        gap = np.maximum(e[:, None, 0], e[None, :, 0]) - np.minimum(e[:, None, 1], e[None, :, 1])
        join = ((o[:, None] == o[None, :]) & (overlap >= cfg.line_overlap * np.minimum(h[:, None], h[None, :]))
                & (gap <= cfg.line_gap * np.maximum(h[:, None], h[None, :])))
        for a, b in zip(*np.nonzero(np.triu(join, 1))):
            sets.union(int(a), int(b))
    groups: dict[int, list[int]] = {}
    for a in range(n):
        groups.setdefault(sets.find(a), []).append(a)
    # reading order: lines by their position across the reading direction, words along it
    lines = sorted(groups.values(), key=lambda g: (min(ext[i][2] for i in g), min(ext[i][0] for i in g)))
    words, out_lines = [], []
    for li, g in enumerate(lines):
        g = sorted(g, key=lambda i: ext[i][0])
        ids = []
        for i in g:
            w = page.words[i]
            w.line_id = li
            ids.append(len(words))
            words.append(w)
        centres = np.concatenate([np.stack([c.quad for c in words[k].chars]).mean(axis=1) if words[k].chars
                                  else words[k].quad.mean(axis=0, keepdims=True) for k in ids])
        angle = _word_angle(centres, words[ids[0]].orientation, float(np.median([ext[i][3] - ext[i][2] for i in g])))
        corners = np.concatenate([words[k].quad for k in ids])
        out_lines.append(Line(quad=rotated_rect(corners, angle), word_ids=ids))
    page.words, page.lines = words, out_lines
