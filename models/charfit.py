"""Character boxes refit to each read word's ink, with the read text as the count (models.pipeline, once the
words are read, split and joined).

The detector's character head misses most punctuation and thin letters (`i l 1 I | j`), and boxes some of
them too large (docs/ARCHITECTURE.md, "The fine stride-2 character head"). Once a word is read, its text says
how many characters it holds, and the ink says where they are. Per word, in its upright frame at the page's
own scale (TL of the quad at the origin, x along the reading direction):

- ink: Otsu over the word and a margin, light-on-dark inverted (linefit's mask), a word under UPSCALE_TO
  pixels high magnified first (bicubic: its ink's edges to a fraction of a pixel); 8-connected components of
  at least MIN_AREA page pixels whose centre lies in the word's band, less the rule-sized ones;
- clusters: components that overlap horizontally by at least half the narrower one's width (an `i`'s dot and
  stem, a colon's dots, a Hangul vowel under its consonant);
- fewer clusters than letters (letters touching in the mask, a period run into the digit before it): the
  threshold is moved STRICT of the way towards the ink's own tone, and a cluster holding two or more of the
  stricter mask's clusters is cut between them, each part the ink box of its columns in the first mask
  (kept where the count gets closer to the text's without passing it);
- the detector's double peaks on one character (boxes overlapping by an IoU of DUP_IOU) count once;
- more boxes than letters: neighbouring boxes are merged, first those one cluster reaches well into (an `m`
  boxed as two halves), then the narrowest pair, none wider than MERGE_WIDTH heights;
- each cluster belongs to the box that holds its centre (the nearest box centre if several), else it is free;
- a box that holds exactly one cluster, its own (it reaches less than OWN_SHARE of its width into another
  box), and overlaps that cluster's ink box by an IoU below TIGHT_IOU becomes the ink box (a period's box 1.7
  times its size);
- fewer boxes than letters, and the word ends in a mark (TRAILING): its rightmost cluster, when mark-sized,
  becomes the mark's box first, cut off the last box where it shares it (a colon boxed with its syllable);
- fewer boxes than letters: the free clusters, largest first, become characters, those the boxes already
  span for the most part (COVERED: letters boxed already, their centre in a gap between two boxes) last;
  then the widest gaps between the clusters inside one box split it (Latin and digit words only: a Hangul
  syllable's parts stay together);
- where the word's clusters, boxes and letters are then as many, each box pairs with its cluster in reading
  order, and one that overlaps its cluster by an IoU below TIGHT_IOU becomes the cluster's ink box (two
  touching letters boxed as one, their neighbour boxed as nothing);
- where the boxes and letters are as many, each character gets its letter, in reading order; a bar's (`-`)
  height is then its ink's mass, not its blurred mask's (a 1-pixel hyphen blurred over three rows).

Unread words, and pages whose words carry no detected characters at all (given boxes), are left as they
are; a read word the detector gave no character (a mark a word was extended over, then split off) gets them
from its ink. Measured on the
detector's 48 held-out pages: character H-mean 0.883 -> 0.939, 0.949 with the stricter thresholds and the
doubles, 0.951 with the bars, the trailing marks, the spanned clusters last and typed rules (models.rules)
(docs/ARCHITECTURE.md, "Characters refit to each read word's ink").
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from models.geometry import box_to_quad, quad_axes, quad_size, transform_quads, warp_affine
from models.linefit import ink_mask
from models.recognition.data import to_gray
from models.types import Char, Page, Word

MARGIN = 0.3            # of the word's height, around the word, for the ink mask
BAND = (0.15, 0.1)      # a component's centre may lie this far (in heights) beyond the word's ends / top, bottom
MAX_W, MAX_H = 2.5, 1.6     # wider or taller components (in word heights) are rules and frames, not characters
MIN_AREA = 3            # page pixels; smaller components are specks
CLUSTER_OVERLAP = 0.5   # of the narrower component's width
OWN_SHARE = 0.3         # a cluster reaching this share of its width into another box is not one box's own
TIGHT_IOU = 0.5         # a box overlapping its own cluster's ink box by less is replaced by the ink box
MAX_PIXELS = 4_000_000  # larger word frames (a mis-detected page-sized word) are left alone
UPSCALE_TO = 64         # a word under this many pixels high is analysed magnified to it (bicubic), at most
UPSCALE_MAX = 4         # this many times
SNAP = 0.02             # a word turned by less (direction cosines off by < SNAP) is read unturned, pixel for pixel
MERGE_WIDTH = 1.5       # merged boxes are at most this many word heights wide
SHARE_INTO = 0.3        # a cluster reaching this share of both boxes' widths makes them one character
DUP_IOU = 0.5           # a box overlapping a higher-scored one by this IoU is its double (dropped)
STRICT = (0.3, 0.6)     # fewer clusters than letters: thresholds this far towards the ink's tone tried
TRAILING = ".,:;"       # a word ending in one of these with a letter short gets its rightmost mark-sized cluster
MARK_SIZE = 0.75        # ... at most this many word heights high
COVERED = 0.5           # a free cluster the boxes span this share of is added last (letters boxed already)
BARS = "-_‐–—"          # a bar's height is its ink's mass, not its blurred mask's
MASS_PAD = 1.5          # page pixels above and below a bar that its blurred ink may reach


def _frame(quad: np.ndarray) -> tuple[np.ndarray, int, int, tuple[float, float, float, float]]:
    """The affine map page -> upright word frame (2, 3) with MARGIN around the word, the frame's size and the
    word's box (x0, y0, x1, y1) in it. A level word (or one turned by a multiple of 90 degrees) gets a whole-
    pixel map (character H-mean 0.936 -> 0.938 on the validation pages, when words were not magnified); a
    word under UPSCALE_TO pixels high is magnified (0.938 -> 0.944)."""
    q = quad.astype(np.float64)
    w, h = quad_size(q)
    ux, uy = quad_axes(q)
    d = MARGIN * h
    origin = q[0] - (ux + uy) * d
    if np.abs(np.round(ux) - ux).max() < SNAP and np.abs(np.round(uy) - uy).max() < SNAP:
        ux, uy, origin = np.round(ux), np.round(uy), np.round(origin)
    m = np.array([[ux[0], ux[1], -origin @ ux], [uy[0], uy[1], -origin @ uy]])
    if h < UPSCALE_TO:                  # small print read magnified: its ink's edges to a fraction of a pixel
        scale = min(UPSCALE_TO / max(h, 1e-6), UPSCALE_MAX)
        m, d = m * scale, d * scale
    f = q @ m[:, :2].T + m[:, 2]
    core = (*f.min(0), *f.max(0))
    return m, int(np.ceil(core[2] + d)), int(np.ceil(core[3] + d)), core


def _stricter_masks(crop: np.ndarray):
    """Ink masks at thresholds moved each STRICT share of the way from Otsu's towards the ink's own tone (its
    10th percentile from the ink's side; light ink on a dark ground by ink_mask's rule), one at a time:
    touching letters' faint joins fall out."""
    t, mask = cv2.threshold(crop, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    light = 2 * int(mask.sum()) > mask.size
    ink = crop[mask == (0 if light else 1)]
    if not ink.size:
        return
    tone = float(np.percentile(ink, 90 if light else 10))
    for strict in STRICT:
        level = t + strict * (tone - t)
        yield ((crop > level) if light else (crop < level)).astype(np.uint8)


def _ink_components(mask: np.ndarray, m: np.ndarray, core: tuple[float, float, float, float]) -> np.ndarray:
    """(n, 5) [x0, y0, x1, y1, area] of the word's character-like ink components in its frame's ink `mask`."""
    _, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    x, y, w, h, area = (stats[1:, k].astype(np.float64) for k in range(5))
    cx0, cy0, cx1, cy1 = core
    wh = cy1 - cy0
    cx, cy = x + w / 2, y + h / 2
    sc = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    keep = ((area >= MIN_AREA * sc * sc) & (w <= MAX_W * wh) & (h <= MAX_H * wh)
            & (cx >= cx0 - BAND[0] * wh) & (cx <= cx1 + BAND[0] * wh)
            & (cy >= cy0 - BAND[1] * wh) & (cy <= cy1 + BAND[1] * wh))
    return np.stack([x, y, x + w, y + h, area], 1)[keep]


def _darkness(crop: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """Each pixel's share of full ink, 0 (the paper's tone: the median off the mask) to 1 (the ink's tone:
    the 10th percentile of the mask from its dark side), light ink on a dark ground too."""
    if not mask.any() or mask.all():
        return None
    paper = float(np.median(crop[mask == 0]))
    ink = crop[mask == 1].astype(np.float64)
    tone = float(np.percentile(ink, 10 if paper > ink.mean() else 90))
    if abs(paper - tone) < 1:
        return None
    return np.clip((paper - crop.astype(np.float64)) / (paper - tone), 0.0, 1.0)


def _bar_rows(dark: np.ndarray, xyxy: list[float], pad: float) -> list[float]:
    """A bar's box (a hyphen, a dash) with its height from its ink's mass: its middle half's columns' mean
    darkness summed over the rows `pad` around it (blur spreads a 1-pixel bar over three rows but keeps its
    mass), centred on that mass; its ends as they were."""
    x0, y0, x1, y1 = xyxy
    inset = (x1 - x0) / 4
    r0, r1 = max(int(np.floor(y0 - pad)), 0), min(int(np.ceil(y1 + pad)), dark.shape[0])
    c0, c1 = max(int(round(x0 + inset)), 0), min(int(round(x1 - inset)), dark.shape[1])
    if c1 <= c0 or r1 <= r0:
        return xyxy
    rows = dark[r0:r1, c0:c1].mean(1)
    mass = float(rows.sum())
    if mass <= 0:
        return xyxy
    cy = r0 + 0.5 + float((np.arange(r1 - r0) * rows).sum()) / mass
    return [x0, cy - mass / 2, x1, cy + mass / 2]


def _overlap(a, b) -> float:
    """How far two boxes (x0, y0, x1, y1, ...) overlap along the line; negative: the gap between them."""
    return min(a[2], b[2]) - max(a[0], b[0])


def _clusters(comps: np.ndarray) -> list[list[float]]:
    """Components merged where they overlap horizontally (CLUSTER_OVERLAP), sorted left to right."""
    out: list[list[float]] = []
    for c in comps[np.argsort(comps[:, 0], kind="stable")].tolist():
        for g in out:
            if _overlap(c, g) > CLUSTER_OVERLAP * min(c[2] - c[0], g[2] - g[0]):
                g[:] = [min(g[0], c[0]), min(g[1], c[1]), max(g[2], c[2]), max(g[3], c[3]), g[4] + c[4]]
                break
        else:
            out.append(c)
    return sorted(out, key=lambda g: g[0])


def _part(clusters: list[list[float]], tighter: list[list[float]], mask: np.ndarray) -> list[list[float]]:
    """`clusters` cut where the stricter threshold's clusters `tighter` part them: a cluster holding the
    centres of k > 1 tighter ones is cut at the middle of each gap between them, each part the ink box of
    `mask` in its columns."""
    out = []
    for g in clusters:
        inner = [t for t in tighter if g[0] <= (t[0] + t[2]) / 2 <= g[2]]
        if len(inner) < 2:
            out.append(g)
            continue
        cuts = [g[0], *((a[2] + b[0]) / 2 for a, b in zip(inner, inner[1:])), g[2]]
        y0, y1 = int(g[1]), int(np.ceil(g[3]))
        for x0, x1 in zip(cuts, cuts[1:]):
            c0, c1 = int(round(x0)), int(round(x1))
            ys, xs = np.nonzero(mask[y0:y1, c0:c1])
            if len(xs):
                out.append([c0 + float(xs.min()), y0 + float(ys.min()), c0 + float(xs.max()) + 1,
                            y0 + float(ys.max()) + 1, float(len(xs))])
    return out


def _iou(a, b) -> float:
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _hull(group) -> list[float]:
    return [min(g[0] for g in group), min(g[1] for g in group), max(g[2] for g in group), max(g[3] for g in group)]


def _centre(box: "_Box") -> float:
    return (box.xyxy[0] + box.xyxy[2]) / 2


@dataclass
class _Box:
    xyxy: list[float]           # in the word's frame
    char: Char | None = None    # the detector's character, while the box is still its own
    score: float = 1.0


def _dedupe(boxes: list[_Box]) -> list[_Box]:
    """Boxes overlapping an earlier one by an IoU of DUP_IOU or more dropped (the detector's double peaks on
    one character); the higher-scored of each such pair stays."""
    out: list[_Box] = []
    for b in sorted(boxes, key=lambda b: -b.score):
        if not any(_iou(b.xyxy, o.xyxy) >= DUP_IOU for o in out):
            out.append(b)
    return sorted(out, key=_centre)


def _merge(boxes: list[_Box], clusters: list[list[float]], excess: int, height: float) -> list[_Box]:
    """`excess` merges of neighbouring boxes (left to right): first pairs one cluster reaches well into both
    (an `m` boxed as two halves), then the narrowest; none wider than MERGE_WIDTH heights."""
    boxes = list(boxes)

    def shared(a, b) -> bool:
        return any(_overlap(g, a) > SHARE_INTO * (a[2] - a[0]) and _overlap(g, b) > SHARE_INTO * (b[2] - b[0])
                   for g in clusters)

    for _ in range(excess):
        pairs = [(not shared(a.xyxy, b.xyxy), _hull([a.xyxy, b.xyxy]), k)
                 for k, (a, b) in enumerate(zip(boxes, boxes[1:]))]
        pairs = [p for p in pairs if p[1][2] - p[1][0] <= MERGE_WIDTH * height]
        if not pairs:
            break
        _, union, k = min(pairs, key=lambda p: (p[0], p[1][2] - p[1][0]))
        boxes[k:k + 2] = [_Box(union, None, min(boxes[k].score, boxes[k + 1].score))]
    return boxes


def _assign(boxes: list[_Box], clusters: list[list[float]]) -> tuple[list[list[list[float]]], list[list[float]]]:
    """Each cluster to the box holding its centre (the nearest box centre among several): the clusters
    inside each box, and the free ones."""
    inside: list[list[list[float]]] = [[] for _ in boxes]
    free = []
    for g in clusters:
        gx = (g[0] + g[2]) / 2
        hits = [i for i, b in enumerate(boxes) if b.xyxy[0] <= gx <= b.xyxy[2]]
        if hits:
            inside[min(hits, key=lambda i: abs(_centre(boxes[i]) - gx))].append(g)
        else:
            free.append(g)
    return inside, free


def _snap(box: _Box, cluster: list[float]) -> None:
    """The box becomes the cluster's ink box where they overlap by an IoU below TIGHT_IOU."""
    if _iou(cluster, box.xyxy) < TIGHT_IOU:
        box.xyxy, box.char = cluster[:4], None


def _fill(boxes: list[_Box], inside: list[list[list[float]]], free: list[list[float]], need: int,
          split: bool, score: float) -> list[_Box]:
    """`need` more boxes: the free clusters, largest first (those the boxes already span for the most part
    last: letters boxed already, their centre in a gap between two boxes), then (with `split`) cuts at the
    widest gaps between the clusters inside one box."""
    def spanned(g) -> bool:
        return sum(max(0.0, _overlap(g, b.xyxy)) for b in boxes) >= COVERED * (g[2] - g[0])

    added = [_Box(g[:4], None, score) for g in sorted(free, key=lambda g: (spanned(g), -g[4]))[:need]]
    need -= len(added)
    cuts: dict[int, set[float]] = {}
    if need > 0 and split:
        gaps = sorted(((b[0] - a[2], i, b[0]) for i, gs in enumerate(inside) for a, b in zip(gs, gs[1:])),
                      reverse=True)[:need]
        for _gap, i, x in gaps:
            cuts.setdefault(i, set()).add(x)
    for i, xs in cuts.items():
        parts: list[list[list[float]]] = [[]]
        for g in inside[i]:
            if parts[-1] and g[0] in xs:
                parts.append([])
            parts[-1].append(g)
        added += [_Box(_hull(p), None, boxes[i].score) for p in parts]
    return [b for i, b in enumerate(boxes) if i not in cuts] + added


def _trailing_mark(boxes: list[_Box], inside: list[list[list[float]]], free: list[list[float]], height: float,
                   score: float) -> None:
    """A word ending in a mark (TRAILING) with a letter short: its rightmost cluster, when mark-sized (at most
    MARK_SIZE heights high and half a height wide), becomes that mark's box first: free, or cut off the last
    box it shares with other clusters (a colon boxed with the syllable before it). In place."""
    everything = free + [g for gs in inside for g in gs]
    last = max(everything, key=lambda g: (g[0] + g[2]) / 2)
    if last[3] - last[1] > MARK_SIZE * height or last[2] - last[0] > 0.5 * height:
        return
    if any(g is last for g in free):
        free[:] = [g for g in free if g is not last]
    else:
        i = next(i for i, gs in enumerate(inside) if any(g is last for g in gs))
        rest = [g for g in inside[i] if g is not last]
        if not rest:
            return
        boxes[i].xyxy, boxes[i].char = _hull(rest), None
        inside[i] = rest
    boxes.append(_Box(last[:4], None, score))
    inside.append([last])


def fit_word_chars(gray: np.ndarray, word: Word) -> list[Char]:
    """The word's characters refit to its ink (see the module doc); its own characters where there is
    nothing to go by."""
    text = word.text.replace(" ", "")
    if not text:
        return word.chars
    m, fw, fh, core = _frame(np.asarray(word.quad))
    if fw < 2 or fh < 2 or fw * fh > MAX_PIXELS or abs(np.linalg.det(m[:, :2])) < 0.5:
        return word.chars
    crop = warp_affine(gray, m, (fw, fh), cv2.INTER_CUBIC)
    mask = ink_mask(crop)
    clusters = _clusters(_ink_components(mask, m, core))
    for stricter in _stricter_masks(crop) if len(clusters) < len(text) else ():
        parted = _part(clusters, _clusters(_ink_components(stricter, m, core)), mask)
        if len(clusters) < len(parted) <= len(text):
            clusters = parted
        if len(clusters) == len(text):
            break
    boxes = []
    for c in word.chars:
        p = np.asarray(c.quad, np.float64) @ m[:, :2].T + m[:, 2]
        boxes.append(_Box([*p.min(0), *p.max(0)], c, c.score))
    boxes = _dedupe(boxes)
    if len(boxes) > len(text):
        boxes = _merge(boxes, clusters, len(boxes) - len(text), core[3] - core[1])
    inside, free = _assign(boxes, clusters)
    for i, b in enumerate(boxes):
        if len(inside[i]) == 1 and not any(
                j != i and _overlap(inside[i][0], o.xyxy) > OWN_SHARE * (inside[i][0][2] - inside[i][0][0])
                for j, o in enumerate(boxes)):
            _snap(b, inside[i][0])
    if len(boxes) < len(text) and text[-1] in TRAILING and clusters:
        _trailing_mark(boxes, inside, free, core[3] - core[1], float(word.conf))
    if len(boxes) < len(text):
        hangul = any(ord(ch) >= 0x1100 for ch in text)
        boxes = sorted(_fill(boxes, inside, free, len(text) - len(boxes), not hangul, float(word.conf)),
                       key=_centre)
    if len(clusters) == len(text) == len(boxes):
        for b, g in zip(boxes, clusters):
            _snap(b, g)
    inv = np.linalg.inv(np.vstack([m, [0.0, 0.0, 1.0]]))[:2]
    letters = list(text) if len(text) == len(boxes) else [""] * len(boxes)
    dark = _darkness(crop, mask) if any(ch and ch in BARS for ch in letters) else None
    if dark is not None:
        pad = MASS_PAD * float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
        for letter, b in zip(letters, boxes):
            if letter and letter in BARS:
                b.xyxy, b.char = _bar_rows(dark, b.xyxy, pad), None
    chars = []
    for letter, b in zip(letters, boxes):
        quad = b.char.quad if b.char is not None else transform_quads(box_to_quad(*b.xyxy), inv)
        chars.append(Char(letter, quad, float(b.score)))
    return chars


def fit_chars(image: np.ndarray, page: Page) -> Page:
    """Every read word's characters refit to its ink (fit_word_chars), in place; returns the page. A page
    with no detected characters (given boxes) is left as it is."""
    if not any(word.chars for word in page.words):
        return page
    gray = to_gray(image)
    for word in page.words:
        word.chars = fit_word_chars(gray, word)
    return page
