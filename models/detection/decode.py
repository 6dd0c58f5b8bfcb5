"""Head maps -> characters, words, lines and orientation, without NMS (the inverse of targets.encode).

1. characters: local maxima of the centerness map (3x3 max-pool trick) above `center_thr`; each peak
   gives one box from its FCOS distances and one exact centre from its offset. Where the maps hold the fine
   head's stride-2 character maps (`fine_*`), `fine_chars="refine"` regresses each character's box again from
   those (words keep the stride-4 boxes), "replace" takes the characters from the fine peaks instead;
2. words: connected components (4-connectivity) of the link map above `link_thr`, every peak's cell
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

from models.detection.model import FINE_STRIDE, window_cells
from models.types import Char, Line, Page, Word
from models.unionfind import DisjointSets

MIN_SPAN = 4.0      # a word's skew is estimated only over at least this many character heights
MAX_SKEW = 15.0     # degrees
LINE_BLOCK = 512    # group_lines compares this many words with all others at a time
FINE_MODES = ("refine", "replace", "off")


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
    fine_chars: str = "refine"     # with the fine stride-2 maps: "refine" each character's box with theirs,
                                   # "replace" the characters by their peaks, or "off"

    def __post_init__(self):
        if self.fine_chars not in FINE_MODES:
            raise ValueError(f"fine_chars must be one of {FINE_MODES}, got {self.fine_chars!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def find_peaks(center: torch.Tensor, thr: float) -> torch.Tensor:
    """(h, w) probabilities -> (n, 2) long tensor of (row, col) local maxima above thr (3x3 max-pool)."""
    pooled = F.max_pool2d(center[None, None], 3, stride=1, padding=1)[0, 0]
    return torch.nonzero((center == pooled) & (center > thr))


def rotated_rect(points: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rectangle around points aligned with a reading direction (degrees clockwise from +x), as a quad
    TL, TR, BR, BL of that reading direction."""
    pts = np.asarray(points, np.float64).reshape(1, -1, 2)
    return _group_rects(pts, np.zeros(1, np.int64), np.array([float(angle_deg)]))[0]


def _runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and lengths of the runs of equal values in a sorted key array."""
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return starts, np.diff(np.r_[starts, len(keys)])


def _group_median(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """np.median of `values` per distinct key, in ascending key order (one sort instead of a loop)."""
    order = np.lexsort((values, keys))
    v = values[order]
    starts, counts = _runs(keys[order])
    return (v[starts + (counts - 1) // 2] + v[starts + counts // 2]) / 2


def _group_angles(points: np.ndarray, keys: np.ndarray, base: np.ndarray, height: np.ndarray) -> np.ndarray:
    """Reading direction (degrees) per run of `keys` (sorted) of (n, 2) points, all groups at once: the base
    orientation, refined by the principal axis of the group's points (the line through the character
    centres) when they span at least MIN_SPAN heights and it is within MAX_SKEW degrees of the base."""
    starts, counts = _runs(keys)
    base = np.asarray(base, np.float64)
    mean = np.add.reduceat(points, starts, axis=0) / counts[:, None]
    c = points - np.repeat(mean, counts, axis=0)
    sxx, syy, sxy = (np.add.reduceat(v, starts) for v in (c[:, 0] ** 2, c[:, 1] ** 2, c[:, 0] * c[:, 1]))
    theta = 0.5 * np.arctan2(2 * sxy, sxx - syy)             # principal axis of the 2x2 covariance
    d = np.stack([np.cos(theta), np.sin(theta)], 1)
    proj = (c * np.repeat(d, counts, axis=0)).sum(1)
    span = np.maximum.reduceat(proj, starts) - np.minimum.reduceat(proj, starts)
    rb = np.radians(base)
    d[(d[:, 0] * np.cos(rb) + d[:, 1] * np.sin(rb)) < 0] *= -1
    delta = (np.degrees(np.arctan2(d[:, 1], d[:, 0])) - base + 180) % 360 - 180
    ok = (counts >= 3) & (span >= MIN_SPAN * np.asarray(height)) & (np.abs(delta) <= MAX_SKEW)
    return np.where(ok, base + delta, base)


def _char_peaks(maps: dict[str, torch.Tensor], key: str, stride: int, thr: float) -> tuple[np.ndarray, ...]:
    """Characters of one set of character maps (`<key>center`, `<key>box`, `<key>offset`): the peak cells'
    image pixels (row, col), boxes (n, 4) x0 y0 x1 y1, exact centres (n, 2) and scores (n,)."""
    center = torch.sigmoid(maps[key + "center"][0].float())
    peaks = find_peaks(center, thr)
    ii, jj = peaks[:, 0], peaks[:, 1]
    dist = torch.exp(maps[key + "box"][:, ii, jj].float()).T.numpy().reshape(-1, 4) * stride   # l, t, r, b
    off = maps[key + "offset"][:, ii, jj].float().T.numpy().reshape(-1, 2) * stride
    px, py = (jj.numpy() + 0.5) * stride, (ii.numpy() + 0.5) * stride
    boxes = np.stack([px - dist[:, 0], py - dist[:, 1], px + dist[:, 2], py + dist[:, 3]], 1)
    centres = np.stack([px + off[:, 0], py + off[:, 1]], 1)
    return (ii.numpy() * stride, jj.numpy() * stride, boxes, centres, center[ii, jj].numpy())


def _fine_windows(maps: dict[str, torch.Tensor], rows: np.ndarray, cols: np.ndarray,
                  fine_head) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """The fine maps on the 3x3 stride-2 cells around each (row, col): cut from the dense `fine_*` maps when
    `maps` hold them, else computed on those cells only by `fine_head` (FineCharHead.windows) from the
    `stem` and `tower` features. Returns ({name: (n, C, 3, 3)}, valid (n, 3, 3))."""
    rows, cols = torch.from_numpy(rows), torch.from_numpy(cols)
    if "fine_center" not in maps:
        with torch.inference_mode():
            win, valid = fine_head.windows(maps["stem"], maps["tower"], rows, cols)
        return {k: v.float().cpu() for k, v in win.items()}, valid.cpu()
    ri, ci, valid = window_cells(rows, cols, 1, maps["fine_center"].shape[-2:])
    return {k: maps[k][:, ri[:, :, None], ci[:, None, :]].permute(1, 0, 2, 3).float()
            for k in ("fine_center", "fine_box")}, valid


def _refine_boxes(centres: np.ndarray, maps: dict[str, torch.Tensor], fine_head=None) -> np.ndarray:
    """Character boxes regressed again from the fine maps: for each character centre (n, 2), the box of the
    most central fine cell (highest fine centerness) among the 3x3 fine cells around it."""
    fi = np.floor(centres[:, 1] / FINE_STRIDE).astype(np.int64)
    fj = np.floor(centres[:, 0] / FINE_STRIDE).astype(np.int64)
    win, valid = _fine_windows(maps, fi, fj, fine_head)
    logit = win["fine_center"][:, 0].masked_fill(~valid, -torch.inf).flatten(1)       # (n, 9)
    best = logit.argmax(1)
    di, dj = (best // 3 - 1).numpy(), (best % 3 - 1).numpy()
    dist = torch.exp(win["fine_box"].flatten(2)[torch.arange(len(best)), :, best]).numpy() * FINE_STRIDE
    px, py = (fj + dj + 0.5) * FINE_STRIDE, (fi + di + 0.5) * FINE_STRIDE
    return np.stack([px - dist[:, 0], py - dist[:, 1], px + dist[:, 2], py + dist[:, 3]], 1)


def decode_maps(maps: dict[str, torch.Tensor], stride: int, size: tuple[int, int],
                cfg: DecodeConfig = DecodeConfig(), fine_head=None) -> Page:
    """One image's head maps (C, h, w) -> Page of `size` = (width, height) with chars, words, lines and
    orientation. `maps` hold raw logits as the model returns them; a model with a fine head returns its
    `stem` and `tower` features instead of the fine maps, and `fine_head` (its FineCharHead) computes those
    from them (or `maps` hold the dense `fine_*` maps)."""
    width, height = size
    if "fine_center" not in maps and "stem" in maps and fine_head is not None and cfg.fine_chars == "replace":
        with torch.inference_mode():
            like = next(fine_head.parameters())
            dense = fine_head(maps["stem"][None].to(like), maps["tower"][None].to(like))
        maps = {**maps, **{k: v[0].float().cpu() for k, v in dense.items()}}
    has_fine = "fine_center" in maps or ("stem" in maps and fine_head is not None)
    mode = cfg.fine_chars if has_fine else "off"
    peaks = _char_peaks(maps, "fine_" if mode == "replace" else "", FINE_STRIDE if mode == "replace" else stride,
                        cfg.center_thr)
    rows, cols, boxes, centres, scores = peaks
    if len(scores) == 0:
        return Page(width=width, height=height)

    link = (torch.sigmoid(maps["link"][0].float()) > cfg.link_thr).numpy().astype(np.uint8)
    ci = np.minimum(rows // stride, link.shape[0] - 1)                 # each character's cell on the link map
    cj = np.minimum(cols // stride, link.shape[1] - 1)
    link[ci, cj] = 1
    _, labels = cv2.connectedComponents(link, connectivity=4)
    comp = labels[ci, cj]
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
    peak_axis = word_axis[np.searchsorted(labels_used, comp)]
    parts = split_words(comp, peak_axis, boxes, centres, cfg)
    first = np.array([p[0] for p in parts])
    axes = peak_axis[first]
    # the direction along the axis (0 vs 180, 90 vs 270): the network's vote or the glyph geometry
    if cfg.orient_mode == "geometry":
        flipped = upright_score([boxes[p] for p, a in zip(parts, axes) if a == page_axis], 90 * page_axis) < 0
    else:
        flipped = page_p[page_axis + 2] > page_p[page_axis]
    page_orient = 90 * page_axis + 180 * int(flipped)
    wp = word_p[np.searchsorted(labels_used, comp[first])]
    rows = np.arange(len(parts))
    orientations = np.where(axes == page_axis, page_orient, 90 * axes + 180 * (wp[rows, axes + 2] > wp[rows, axes]))
    char_boxes = _refine_boxes(centres, maps, fine_head) if mode == "refine" else None
    words = make_words(parts, orientations, boxes, centres, scores, char_boxes)
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


def _axes(angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(k, 2) unit vectors along (d) and across (n, 'down') reading directions given in degrees."""
    t = np.radians(angle)
    return np.stack([np.cos(t), np.sin(t)], 1), np.stack([-np.sin(t), np.cos(t)], 1)


def _project(points: np.ndarray, d: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(k, m, 2) point sets, each on its own axes (k, 2) -> their (k, m) coordinates along d and across n."""
    return np.einsum("kjc,kc->kj", points, d), np.einsum("kjc,kc->kj", points, n)


def _group_rects(corners: np.ndarray, keys: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """rotated_rect per run of `keys` (sorted) over (k, m, 2) point sets, all groups at once: (G, 4, 2)."""
    starts, counts = _runs(keys)
    d, n = _axes(angle)
    u, v = _project(corners, np.repeat(d, counts, axis=0), np.repeat(n, counts, axis=0))
    u0, u1 = np.minimum.reduceat(u.min(1), starts)[:, None], np.maximum.reduceat(u.max(1), starts)[:, None]
    v0, v1 = np.minimum.reduceat(v.min(1), starts)[:, None], np.maximum.reduceat(v.max(1), starts)[:, None]
    return np.stack([u0 * d + v0 * n, u1 * d + v0 * n, u1 * d + v1 * n, u0 * d + v1 * n], 1).astype(np.float32)


def split_words(comp: np.ndarray, axis: np.ndarray, boxes: np.ndarray, centres: np.ndarray,
                cfg: DecodeConfig = DecodeConfig()) -> list[np.ndarray]:
    """Every link component's characters cut into words (split_component's rule), all components at once:
    `comp` and `axis` (0 = horizontal, 1 = vertical reading) per character. Components whose centres lie
    within `split_shift` heights across the reading direction are one row, cut at gaps with array
    operations; the few others go through split_component. Words come in component order."""
    vert = np.asarray(axis).astype(bool)
    u0 = np.where(vert, boxes[:, 1], boxes[:, 0])
    u1 = np.where(vert, boxes[:, 3], boxes[:, 2])
    across = np.where(vert, -centres[:, 0], centres[:, 1])
    h = _group_median(np.where(vert, boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]), comp)
    order = np.lexsort((u0, comp))                              # by component, then along the reading axis
    keys = comp[order]
    starts, counts = _runs(keys)
    seg = np.repeat(np.arange(len(starts)), counts)
    one_row = (np.maximum.reduceat(across[order], starts) - np.minimum.reduceat(across[order], starts)
               <= cfg.split_shift * h)
    lift = seg * (2.0 * (np.abs(u0).max() + np.abs(u1).max()) + 1.0)   # a running max that restarts per segment
    reach = np.maximum.accumulate(u1[order] + lift) - lift
    cut = (seg[1:] == seg[:-1]) & (u0[order][1:] - reach[:-1] > cfg.split_gap * h[seg[1:]])
    bounds = np.flatnonzero(np.r_[True, (seg[1:] != seg[:-1]) | cut])
    out: list[np.ndarray] = []
    for part, s in zip(np.split(order, bounds[1:]), seg[bounds]):
        if one_row[s]:
            out.append(part)
        elif part[0] == order[starts[s]]:            # a component with several rows: once, the slow way
            members = np.sort(order[starts[s]:starts[s] + counts[s]])
            out.extend(split_component(members, boxes, centres, 90 * int(vert[part[0]]), cfg))
    return out


def make_words(parts: list[np.ndarray], orientations: np.ndarray, boxes: np.ndarray, centres: np.ndarray,
               scores: np.ndarray, char_boxes: np.ndarray | None = None) -> list[Word]:
    """Words from groups of characters (indices into boxes / centres / scores) read at `orientations`:
    characters ordered along the word's reading direction (refined by _group_angles), each word's quad the
    rectangle around its characters aligned with that direction. Array operations over all words.
    `char_boxes` (same rows as `boxes`) give the characters' own quads instead, the words keeping `boxes`'."""
    if not parts:
        return []
    lens = np.array([len(p) for p in parts])
    idx = np.concatenate(parts)
    wid = np.repeat(np.arange(len(parts)), lens)
    orientations = np.asarray(orientations)
    b, c = boxes[idx], centres[idx]
    sizes = np.where(orientations[wid] % 180 != 0, b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
    angle = _group_angles(c, wid, orientations, _group_median(sizes, wid))
    t = np.radians(angle)[wid]
    order = np.lexsort((c[:, 0] * np.cos(t) + c[:, 1] * np.sin(t), wid))   # by word, then along its direction
    idx, b = idx[order], b[order]
    shift = (np.rint(angle / 90.0).astype(int) % 4)[wid]       # rolled to the reading direction's TL

    def as_quads(bx: np.ndarray) -> np.ndarray:
        q = bx[:, [[0, 1], [2, 1], [2, 3], [0, 3]]]            # TL, TR, BR, BL of upright text
        return q[np.arange(len(q))[:, None], (np.arange(4)[None, :] + shift[:, None]) % 4].astype(np.float32)

    quads = as_quads(b)
    wq = _group_rects(quads.astype(np.float64), wid, angle)
    if char_boxes is not None:
        quads = as_quads(char_boxes[idx])
    starts, _ = _runs(wid)
    conf = np.add.reduceat(scores[idx].astype(np.float64), starts) / lens
    chars = [Char("", qd, float(s)) for qd, s in zip(quads, scores[idx])]
    return [Word(quad=wq[k], conf=float(conf[k]), orientation=int(orientations[k]),
                 chars=chars[starts[k]:starts[k] + lens[k]]) for k in range(len(parts))]


def group_lines(page: Page, cfg: DecodeConfig = DecodeConfig()) -> None:
    """Group words into lines (in place): union-find over word pairs of the same orientation that overlap
    across the reading direction and are close along it; words are reordered line by line, reading order."""
    n = len(page.words)
    if n == 0:
        page.lines = []
        return
    o = np.array([w.orientation for w in page.words])
    q = np.stack([w.quad for w in page.words]).astype(np.float64)          # (n, 4, 2)
    u, v = _project(q, *_axes(o))
    e = np.stack([u.min(1), u.max(1), v.min(1), v.max(1)], 1)               # (n, 4) u0, u1, v0, v1
    h = e[:, 3] - e[:, 2]
    sets = DisjointSets(n)
    for r0 in range(0, n, LINE_BLOCK):         # word pairs in blocks of rows: memory stays O(n * LINE_BLOCK)
        r = slice(r0, r0 + LINE_BLOCK)
        overlap = np.minimum(e[r, None, 3], e[None, :, 3]) - np.maximum(e[r, None, 2], e[None, :, 2])
        gap = np.maximum(e[r, None, 0], e[None, :, 0]) - np.minimum(e[r, None, 1], e[None, :, 1])
        join = ((o[r, None] == o[None, :]) & (overlap >= cfg.line_overlap * np.minimum(h[r, None], h[None, :]))
                & (gap <= cfg.line_gap * np.maximum(h[r, None], h[None, :])))
        for a, b in zip(*np.nonzero(np.triu(join, 1 + r0))):
            sets.union(r0 + int(a), int(b))
    root = np.array([sets.find(a) for a in range(n)])
    # reading order: lines by their position across the reading direction (then along it), words along it
    _, line_of = np.unique(root, return_inverse=True)
    first_v = np.full(line_of.max() + 1, np.inf)
    first_u = first_v.copy()
    np.minimum.at(first_v, line_of, e[:, 2])
    np.minimum.at(first_u, line_of, e[:, 0])
    rank = np.empty_like(first_v, dtype=np.int64)
    rank[np.lexsort((first_u, first_v))] = np.arange(len(first_v))
    line_of = rank[line_of]
    order = np.lexsort((e[:, 0], line_of))
    words = [page.words[i] for i in order]
    line_of = line_of[order]
    for w, li in zip(words, line_of):
        w.line_id = int(li)
    # each line's direction from its characters' centres (a word's centre when it has none)
    counts = np.array([max(1, len(w.chars)) for w in words])
    pts = np.stack([c.quad if w.chars else w.quad for w in words for c in (w.chars or [w])]).astype(np.float64)
    centres = pts.mean(axis=1)
    keys = np.repeat(line_of, counts)
    starts, sizes = _runs(line_of)
    angle = _group_angles(centres, keys, o[order][starts], _group_median(h[order], line_of))
    quads = _group_rects(q[order], line_of, angle)
    page.words = words
    page.lines = [Line(quad=quads[k], word_ids=list(range(s0, s0 + m))) for k, (s0, m) in enumerate(zip(starts, sizes))]
