"""Text clustering: words -> lines -> blocks -> reading order, and key -> value pairing.

Rule-based and geometric. Everything is computed in the *page frame*: the page rotated so that the
dominant reading direction of the words (median of their TL->TR angles) is +x, so rotated or skewed pages
cluster like upright ones. In that frame each word is an axis-aligned box (x0, y0, x1, y1).

Terms
    line     words on one baseline separated by ordinary word spacing (a wide gap, e.g. between a
             receipt item and its price or between two columns, starts a new line: this is the SROIE
             "text segment" convention);
    row      lines that share a baseline (a table row, a receipt row, a "key: value" row);
    block    a paragraph (lines stacked with small leading and overlapping x-extents) or a table
             (consecutive rows of short lines); its lines are in reading order (row-major for tables);
    segment  a line split after every word that ends with a colon: the unit of key -> value pairing.
Reading order: recursive XY-cut over blocks, cutting at each level along the widest whitespace gap
(relative to text height), so two text columns are read column by column and a table row by row.
Word indices are never changed: reading order is recorded as the order of `page.lines`/`page.blocks`
and as `page.meta["reading_order"]` (word indices).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from models.geometry import quad_angle, union_quad
from models.types import GIVEN_LINES, Block, Line, Page
from models.unionfind import DisjointSets


@dataclass(frozen=True)
class ClusterConfig:
    line_center_tol: float = 0.45    # |centre dy| <= tol * height to continue a line
    word_gap: float = 1.6            # largest gap inside a line, in text heights
    key_gap: float = 1.1             # after a label, a gap this wide (in heights) starts the value's line
    split_after_colon: bool = False  # "Date: 2024-03-05" is a key line and a value line
    block_gap: float = 0.9           # largest leading between lines of a paragraph, in heights
    table_row_gap: float = 1.8       # largest gap between rows of one table, in heights
    prose_words: int = 3             # a line of this many words reads like prose, not like a table cell
    short_line: float = 0.3          # a line narrower than this share of the text width is "short"
    segment_gap: float = 0.8         # a wider gap inside a line also ends a key/value segment, in heights
    segment_gap_rel: float = 3.0     # ... or wider than this many median word gaps of the page
    stack_gap: float = 0.5           # labels stacked this close (in heights) and centred form one label
    value_max_lines: int = 4         # a value continues on at most this many lines
    value_max_gap: float = 0.9       # key -> right value: largest gap, as a share of the text width
    value_below_gap: float = 2.0     # key -> value below: largest gap, in heights
    header_max_words: int = 4        # a table header is a short label
    header_max_rows: int = 12        # a table header pairs with at most this many cells below
    column_min_rows: int = 3         # a form's label column has at least this many label -> value rows
    column_window: float = 8.0       # ... counted within this many heights above and below a label
    cell_cut_gap: float = 0.25       # below a header row, a gap this wide (in heights) between columns cuts a cell
    cell_cut_gap_rel: float = 2.0    # ... if also this many median word gaps of the page


def page_frame(page: Page) -> tuple[float, np.ndarray, np.ndarray]:
    """(angle in degrees, (N, 4) boxes x0 y0 x1 y1 in the de-rotated frame, (N,) text heights)."""
    if not page.words:
        return 0.0, np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
    quads = np.stack([np.asarray(w.quad, np.float64) for w in page.words])
    angles = np.array([quad_angle(q) for q in quads])
    # circular median-ish: average unit vectors weighted by word length
    lengths = np.linalg.norm(quads[:, 1] - quads[:, 0], axis=1) + 1e-6
    ang = float(np.degrees(np.arctan2((np.sin(np.radians(angles)) * lengths).sum(),
                                      (np.cos(np.radians(angles)) * lengths).sum())))
    boxes = derotated_boxes(quads, ang)
    heights = np.maximum(boxes[:, 3] - boxes[:, 1], 1.0)
    return ang, boxes, heights


def derotated_boxes(quads: np.ndarray, angle: float) -> np.ndarray:
    """(N, 4) boxes x0 y0 x1 y1 of (N, 4, 2) quads turned by -`angle` degrees (the page's frame)."""
    t = np.radians(-angle)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    pts = np.asarray(quads, np.float64).reshape(-1, 4, 2) @ rot.T
    return np.concatenate([pts.min(axis=1), pts.max(axis=1)], axis=1).astype(np.float32)


def _union(boxes: np.ndarray, ids) -> np.ndarray:
    b = boxes[list(ids)]
    return np.array([b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()], np.float32)


def _v_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Vertical overlap of two boxes over the smaller height."""
    inter = min(a[3], b[3]) - max(a[1], b[1])
    return float(inter / max(1e-6, min(a[3] - a[1], b[3] - b[1])))


def _h_overlap(a: np.ndarray, b: np.ndarray) -> float:
    inter = min(a[2], b[2]) - max(a[0], b[0])
    return float(inter / max(1e-6, min(a[2] - a[0], b[2] - b[0])))


def group_lines(boxes: np.ndarray, heights: np.ndarray, cfg: ClusterConfig,
                words_text: list[str] | None = None) -> list[list[int]]:
    """Words (frame boxes) -> lines of word indices, each left to right, lines sorted top to bottom.
    A word ending with a colon ends its line when cfg.split_after_colon (key and value are two lines)."""
    words_text = words_text or [""] * len(boxes)
    lines: list[list[int]] = []
    for i in np.argsort(boxes[:, 0], kind="stable"):
        best, best_cost = None, None
        cy = (boxes[i, 1] + boxes[i, 3]) / 2
        for li, ln in enumerate(lines):
            last = ln[-1]
            if cfg.split_after_colon and words_text[last].rstrip().endswith((":", "：")):
                continue
            h = max(heights[last], heights[i])
            gap = boxes[i, 0] - boxes[last, 2]
            if gap > cfg.key_gap * h and is_key_text(" ".join(words_text[j] for j in ln)):
                continue                  # a label, then a value set apart at a tab stop: two lines
            dy = abs(cy - (boxes[last, 1] + boxes[last, 3]) / 2)
            if gap < -0.3 * h or gap > cfg.word_gap * h or dy > cfg.line_center_tol * h:
                continue
            if max(heights[last], heights[i]) > 2.2 * min(heights[last], heights[i]):
                continue
            cost = max(gap, 0) / h + 2 * dy / h
            if best_cost is None or cost < best_cost:
                best, best_cost = li, cost
        if best is None:
            lines.append([int(i)])
        else:
            lines[best].append(int(i))
    lines.sort(key=lambda ln: (float(_union(boxes, ln)[1]), float(_union(boxes, ln)[0])))
    return lines


def group_rows(line_boxes: np.ndarray) -> list[list[int]]:
    """Lines that share a baseline (vertical overlap > half the smaller height), each sorted by x."""
    order = np.argsort((line_boxes[:, 1] + line_boxes[:, 3]) / 2, kind="stable")
    rows: list[list[int]] = []
    for i in order:
        for row in rows:
            if any(_v_overlap(line_boxes[i], line_boxes[j]) > 0.5 for j in row):
                row.append(int(i))
                break
        else:
            rows.append([int(i)])
    return [sorted(r, key=lambda j: float(line_boxes[j, 0])) for r in rows]


def group_blocks(line_boxes: np.ndarray, line_h: np.ndarray, cfg: ClusterConfig,
                 line_words: list[int] | None = None) -> list[tuple[list[int], str]]:
    """Lines -> blocks: (line indices in reading order, kind "text" | "table").
    A row of several lines is tabular unless all its lines read like prose (>= cfg.prose_words words),
    which is how two text columns differ from a table; its short lines then form table blocks."""
    n = len(line_boxes)
    if n == 0:
        return []
    text_w = float(line_boxes[:, 2].max() - line_boxes[:, 0].min())
    rows = group_rows(line_boxes)
    row_of = {j: r for r, row in enumerate(rows) for j in row}
    nwords = line_words or [1] * n
    tabular = {j for row in rows if len(row) > 1 and not all(nwords[k] >= cfg.prose_words for k in row)
               for j in row if line_boxes[j, 2] - line_boxes[j, 0] < cfg.short_line * text_w}
    sets = DisjointSets(n)

    # paragraphs: a line joins the nearest line above it that it overlaps
    for j in range(n):
        if j in tabular:
            continue
        best, best_gap = None, None
        for i in range(n):
            if i == j or i in tabular:
                continue
            h = max(line_h[i], line_h[j])
            gap = line_boxes[j, 1] - line_boxes[i, 3]
            if not -0.3 * h < gap <= cfg.block_gap * h or line_boxes[i, 1] >= line_boxes[j, 1]:
                continue
            aligned = abs(line_boxes[i, 0] - line_boxes[j, 0]) < 1.5 * h
            if _h_overlap(line_boxes[i], line_boxes[j]) < 0.5 and not aligned:
                continue
            if max(line_h[i], line_h[j]) > 1.6 * min(line_h[i], line_h[j]):
                continue
            if best_gap is None or gap < best_gap:
                best, best_gap = i, gap
        if best is not None:
            sets.union(j, best)
    # tables: consecutive rows holding tabular lines, close and overlapping in x
    tab_rows = [r for r, row in enumerate(rows) if any(j in tabular for j in row)]
    for r0, r1 in zip(tab_rows, tab_rows[1:]):
        a = _union(line_boxes, [j for j in rows[r0] if j in tabular])
        b = _union(line_boxes, [j for j in rows[r1] if j in tabular])
        h = float(np.median(line_h[[j for j in rows[r1] if j in tabular]]))
        if b[1] - a[3] <= cfg.table_row_gap * h and _h_overlap(a, b) > 0.3:
            sets.union(min(j for j in rows[r1] if j in tabular), min(j for j in rows[r0] if j in tabular))
    for row in rows:                       # the tabular lines of one row belong together
        tl = [j for j in row if j in tabular]
        for j in tl[1:]:
            sets.union(j, tl[0])
    groups: dict[int, list[int]] = {}
    for j in range(n):
        groups.setdefault(sets.find(j), []).append(j)
    blocks = []
    for members in groups.values():
        kind = "table" if any(j in tabular for j in members) else "text"
        members.sort(key=lambda j: (row_of[j], float(line_boxes[j, 0])) if kind == "table"
                     else (float(line_boxes[j, 1]), float(line_boxes[j, 0])))
        blocks.append((members, kind))
    return blocks


def _split_axis(ids: list[int], boxes: np.ndarray, axis: int) -> tuple[list[list[int]], float]:
    """Split ids into groups separated by whitespace along axis (0 = x, 1 = y); also the widest gap."""
    lo, hi = boxes[:, axis], boxes[:, axis + 2]
    order = sorted(ids, key=lambda i: float(lo[i]))
    groups, widest, end = [[order[0]]], 0.0, float(hi[order[0]])
    for i in order[1:]:
        if lo[i] > end:
            widest = max(widest, float(lo[i]) - end)
            groups.append([i])
        else:
            groups[-1].append(i)
        end = max(end, float(hi[i]))
    return groups, widest


def xy_cut(boxes: np.ndarray, ids: list[int], unit: float) -> list[int]:
    """Reading order of boxes by recursive XY-cut, cutting at the widest gap (in `unit`s) first;
    ties prefer a horizontal cut (read top band before bottom band)."""
    if len(ids) <= 1:
        return list(ids)
    by_y, gap_y = _split_axis(ids, boxes, 1)
    by_x, gap_x = _split_axis(ids, boxes, 0)
    if len(by_x) > 1 and gap_x / unit > 1.0 and (len(by_y) == 1 or gap_x / unit > 2.0 * gap_y / unit):
        groups = by_x
    elif len(by_y) > 1:
        groups = by_y
    elif len(by_x) > 1:
        groups = by_x
    else:
        return sorted(ids, key=lambda i: (float(boxes[i, 1]), float(boxes[i, 0])))
    return [i for g in groups for i in xy_cut(boxes, g, unit)]


_KEY_WORDS = re.compile(
    r"^(name|date|time|to|from|subject|re|cc|fax|phone|tel|telephone|e-?mail|address|total|subtotal|vat|tax|"
    r"amount|price|unit price|qty|quantity|no\.?|number|#|invoice|account|account holder|company|signature|"
    r"title|code|city|state|zip|department|dept\.?|position|street|period|cost|brand|region|division|area|"
    r"bank|website|homepage|url|remarks|note|spec|item|description|balance|deposit|withdrawal|paid|change|"
    r"due date|issued|date of birth|birth|supplier|buyer|cashier|representative|approval|approval no\.?|"
    r"reg\.? no\.?|business reg\.? no\.?|resident reg\.? no\.?|card no\.?|account no\.?|"
    r"성명|이름|주소|전화|전화번호|날짜|일자|거래일자|발행일|발급일|금액|합계|총액|공급가액|부가세|세액|상호|대표자|"
    r"사업자등록번호|등록번호|주민등록번호|계좌번호|카드번호|이메일|담당|담당자|연락처|품목|수량|단가|규격|비고|"
    r"홈페이지|승인번호|조회기간|잔액|입금|출금|적요|예금주|부서|직위|생년월일|서명|공급자|공급받는자|팩스|번호|"
    r"받은금액|거스름돈|납부기한|시간|은행)$",
    re.IGNORECASE)


@lru_cache(maxsize=1 << 16)       # pure, and asked of the same phrases many times per page (line grouping)
def is_key_text(text: str) -> bool:
    """A label for sure: ends with a colon, or is (or ends with) a known key word, in English, Korean or
    both ("부서(Department)")."""
    t = text.strip()
    if t.endswith((":", "：")):
        return bool(re.search(r"[^\W\d_]", t))          # "10:" is a time fragment, not a key
    t = t.rstrip(" .")
    words = t.split()
    if not words or len(words) > 6 or re.search(r"\d", t):
        return False
    base = re.sub(r"\s*\(([^)]*)\)\s*$", "", t)          # "부서(Department)" -> "부서"
    inner = re.findall(r"\(([^)]*)\)", t)
    return any(bool(_KEY_WORDS.match(c.strip())) for c in [t, base, words[-1].strip("()"), *inner] if c.strip())


_ENUMERATOR = re.compile(r"^\(?([A-Za-z]|[ivxIVX]{1,4})[.)]$|^\(([A-Za-z]|[ivxIVX]{1,4})\)$")


def is_label_text(text: str) -> bool:
    """Could be a label: a short phrase without digits, other than a list marker ("C.", "(a)", "iv)")."""
    t = text.strip()
    return len(t) >= 2 and not re.search(r"\d", t) and len(t.split()) <= 6 and bool(re.search(r"\w", t)) \
        and not _ENUMERATOR.match(t)


@dataclass(frozen=True)
class KeyValue:
    key: tuple[int, ...]        # word indices of the key segment, left to right
    value: tuple[int, ...]      # word indices of the value segment
    kind: str = "field"         # "field" (a label and its value) | "table" (a column header and a cell)


def _key_prefix_ends(page: Page, cur: list[int], nxt: int) -> bool:
    """True when `cur` is an upper-case label and the next word starts a value written differently
    (with lower-case letters, or digits after a key word): "INITIATION DATE October 27, 1986"."""
    phrase = " ".join(page.words[i].text for i in cur)
    nxt_text = page.words[nxt].text
    if not phrase.isupper() or re.search(r"\d", phrase) or len(re.sub(r"\W", "", phrase)) < 3:
        return False
    if not is_key_text(phrase):
        return False
    return bool(re.search(r"\d", nxt_text)) or (bool(re.search(r"[a-z]", nxt_text)) and nxt_text[:1].isupper())


def word_gap_unit(lines: list[list[int]], boxes: np.ndarray, heights: np.ndarray) -> float:
    """The page's median gap between neighbouring words of a line, in text heights (0.3 when none)."""
    gaps = [(boxes[b, 0] - boxes[a, 2]) / max(heights[a], heights[b]) for ln in lines for a, b in zip(ln, ln[1:])]
    return float(np.median(gaps)) if gaps else 0.3


def segments_of(page: Page, lines: list[list[int]], boxes: np.ndarray, heights: np.ndarray,
                cfg: ClusterConfig) -> list[list[int]]:
    """Lines split after each word ending with a colon, at wide gaps (cfg.segment_gap heights, or
    cfg.segment_gap_rel times the page's median word gap when its spacing is wider)."""
    seg_gap = max(cfg.segment_gap, cfg.segment_gap_rel * word_gap_unit(lines, boxes, heights))
    segs = []
    for ln in lines:
        cur: list[int] = []
        for i in ln:
            gap = (boxes[i, 0] - boxes[cur[-1], 2]) / max(heights[i], heights[cur[-1]]) if cur else 0.0
            if cur and gap > seg_gap:
                segs.append(cur)
                cur = []
            if cur and _key_prefix_ends(page, cur, i):
                segs.append(cur)
                cur = []
            cur.append(i)
            if is_key_text(page.words[i].text) and page.words[i].text.strip().endswith((":", "：")):
                segs.append(cur)
                cur = []
        if cur:
            segs.append(cur)
    return segs


def merge_stacked_labels(page: Page, segs: list[list[int]], boxes: np.ndarray, heights: np.ndarray,
                         cfg: ClusterConfig) -> list[list[int]]:
    """Join a label with the label just below it when tightly stacked and centred on each other
    (two-line table headers such as "NO. OF" over "STORES"). The upper one must not end with a colon,
    the two must not each have a colon-ended key to their left on their row (values of stacked keys),
    and a stack of three or more is a list of values, not a header, so it stays apart."""
    sb = [_union(boxes, s) for s in segs]
    txt = [" ".join(page.words[i].text for i in s) for s in segs]
    is_key = [is_key_text(t) and t.rstrip().endswith((":", "：")) for t in txt]
    keys = [o for o in range(len(segs)) if is_key[o]]
    key_left = [any(_v_overlap(sb[o], sb[b]) > 0.5 and sb[o][2] <= sb[b][0] + 1 for o in keys)
                for b in range(len(segs))]
    below: dict[int, int] = {}
    above: dict[int, int] = {}
    for a in range(len(segs)):
        if not is_label_text(txt[a]):
            continue
        h = float(np.median(heights[segs[a]]))
        for b in range(len(segs)):
            if b == a or not is_label_text(txt[b]):
                continue
            gap = sb[b][1] - sb[a][3]
            centre = abs((sb[a][0] + sb[a][2]) - (sb[b][0] + sb[b][2])) / 2
            width = max(sb[a][2] - sb[a][0], sb[b][2] - sb[b][0])
            if -0.2 * h < gap <= cfg.stack_gap * h and centre <= 0.25 * width and _h_overlap(sb[a], sb[b]) > 0.5:
                if a not in below and b not in above and not (key_left[a] and key_left[b]):
                    below[a], above[b] = b, a
    pairs = {a: b for a, b in below.items()
             if a not in above and b not in below and not txt[a].rstrip().endswith((":", "："))}
    lower = set(pairs.values())
    return [list(seg) + list(segs[pairs[a]]) if a in pairs else list(seg)
            for a, seg in enumerate(segs) if a not in lower]


def pair_keys_values(page: Page, boxes: np.ndarray, heights: np.ndarray, lines: list[list[int]],
                     cfg: ClusterConfig = ClusterConfig(), table_words: set[int] = frozenset()) -> list[KeyValue]:
    """Key -> value pairs on segments:
    1. table headers: a row of >= 2 labels with cells aligned below each -> header with each cell (a
       segment running under two headers is first cut into cells, see split_under_headers);
    2. keys (colon or key word) -> the nearest non-key segment to the right on the row, else just below;
    3. outside tables, a label followed on its row by a non-label segment -> that segment, or a label
       with a check mark just left of it (a ticked box) -> the mark;
    4. a label of a form's label column (see label_column) -> the segment to its right, even a label.
    A value holds at least one letter or digit and is not written sideways (taller than wide)."""
    segs = segments_of(page, lines, boxes, heights, cfg)
    if not segs:
        return []
    segs = merge_stacked_labels(page, segs, boxes, heights, cfg)
    segs = split_under_headers(page, segs, boxes, heights, cfg)
    sb = np.stack([_union(boxes, s) for s in segs])
    sh = np.array([float(np.median(heights[s])) for s in segs])
    text = [" ".join(page.words[i].text for i in s) for s in segs]
    text_w = float(sb[:, 2].max() - sb[:, 0].min())
    key = [is_key_text(t) for t in text]
    label = [k or is_label_text(t) for k, t in zip(key, text)]
    # a value holds a letter or digit and is not a vertical stamp (a document number printed sideways)
    sideways = [len(t.replace(" ", "")) >= 3 and b[3] - b[1] > 1.5 * (b[2] - b[0]) for t, b in zip(text, sb)]
    value_like = [bool(re.search(r"[^\W_]", t)) and not sw for t, sw in zip(text, sideways)]
    used: set[int] = set()
    colon = [t.rstrip().endswith((":", "：")) for t in text]
    pairs, headers = _table_pairs(segs, sb, sh, label, key, colon, used, cfg)
    right = [_right_of(k, sb, sh, cfg.value_max_gap * text_w) if label[k] else None for k in range(len(segs))]
    column = label_column(sb, sh, label, key, [is_heading_text(t) for t in text], right, cfg)
    for k in range(len(segs)):
        if k in headers or k in used or not label[k]:
            continue
        if not key[k] and k not in column and table_words.intersection(segs[k]):
            continue
        v = right[k]
        if v is not None and (key[v] or (not key[k] and label[v] and k not in column) or not value_like[v]):
            v = None
        if v is None and key[k]:
            v = _below(k, sb, sh, cfg.value_below_gap)
            v = None if v is None or key[v] or not value_like[v] else v
        if v is None:
            v = _checkbox_left_of(k, sb, sh, text)
        if v is not None and v not in used and v not in headers:
            used.add(v)
            value = list(segs[v])
            for c in _continuation(v, sb, sh, key, used | headers, cfg):
                used.add(c)
                value += segs[c]
            pairs.append(KeyValue(tuple(segs[k]), tuple(value)))
    return pairs


def is_heading_text(text: str) -> bool:
    """A label written like a heading, not like prose: a label of at most 4 words, none starting with a
    lower-case letter, not ending with a full stop ("MEDIA TYPE", "Account Holder", "부서")."""
    words = text.split()
    return is_label_text(text) and len(words) <= 4 and not text.rstrip().endswith(".") \
        and not any(w[:1].islower() for w in words)


def label_column(sb: np.ndarray, sh: np.ndarray, label: list[bool], key: list[bool], heading: list[bool],
                 right: list[int | None], cfg: ClusterConfig) -> set[int]:
    """Labels of a form's label column: left-aligned heading-like labels stacked within cfg.column_window
    heights, each with a segment to its right on its row and nothing else there, those segments left-aligned
    too ("MEDIA TYPE  DIRECT MAIL" over "COUPON VALUE  $1.00 OFF"). At least cfg.column_min_rows such rows;
    a label there pairs with the segment to its right even when neither is a known key."""
    def alone(k: int) -> bool:          # the row holds just the label and its value (not a table row)
        return sum(_v_overlap(sb[o], sb[k]) > 0.5 for o in range(len(sb))) == 2

    rows = [k for k in range(len(sb)) if label[k] and right[k] is not None and not key[right[k]] and alone(k)
            and heading[k]]
    out = set()
    for k in rows:
        h = sh[k]
        mates = [j for j in rows if abs(sb[j, 0] - sb[k, 0]) <= h and abs(sb[j, 1] - sb[k, 1]) <= cfg.column_window * h
                 and abs(sb[right[j], 0] - sb[right[k], 0]) <= 1.5 * h]
        if len(mates) >= cfg.column_min_rows:
            out.add(k)
    return out


def _continuation(v: int, sb: np.ndarray, sh: np.ndarray, key: list[bool], taken: set[int],
                  cfg: ClusterConfig) -> list[int]:
    """Segments continuing a value on the lines below it: left-aligned with it, tightly stacked, not
    keys, and with nothing to their left on their row (else the row starts a new key)."""
    out, cur = [], v
    while len(out) < cfg.value_max_lines - 1:
        nxt = None
        for c in range(len(sb)):
            if c == cur or c in taken or c in out or key[c]:
                continue
            gap = sb[c, 1] - sb[cur, 3]
            if not -0.2 * sh[cur] < gap <= cfg.block_gap * sh[cur] or abs(sb[c, 0] - sb[cur, 0]) > 1.5 * sh[cur]:
                continue
            if any(_v_overlap(sb[o], sb[c]) > 0.5 and sb[o, 2] <= sb[c, 0] + 1 for o in range(len(sb)) if o != c):
                continue
            nxt = c
            break
        if nxt is None:
            return out
        out.append(nxt)
        cur = nxt
    return out


CHECK_MARKS = ("x", "X", "☑", "☒", "✓", "✔", "■", "v", "V")


def _checkbox_left_of(k: int, sb: np.ndarray, sh: np.ndarray, text: list[str]) -> int | None:
    """A check mark just left of a label (a ticked box): the label's value."""
    for j in range(len(sb)):
        gap = sb[k, 0] - sb[j, 2]
        if j != k and text[j].strip() in CHECK_MARKS and -0.3 * sh[k] <= gap <= 3.0 * sh[k] \
                and _v_overlap(sb[k], sb[j]) > 0.3:
            return j
    return None


def _right_of(k: int, sb: np.ndarray, sh: np.ndarray, max_gap: float) -> int | None:
    best, best_gap = None, None
    for j in range(len(sb)):
        gap = sb[j, 0] - sb[k, 2]
        if j == k or gap < -0.5 * sh[k] or gap > max_gap or _v_overlap(sb[k], sb[j]) < 0.5:
            continue
        if best_gap is None or gap < best_gap:
            best, best_gap = j, gap
    return best


def _below(k: int, sb: np.ndarray, sh: np.ndarray, max_gap_h: float) -> int | None:
    best, best_gap = None, None
    for j in range(len(sb)):
        gap = sb[j, 1] - sb[k, 3]
        if j == k or gap < -0.3 * sh[k] or gap > max_gap_h * sh[k]:
            continue
        if _h_overlap(sb[k], sb[j]) < 0.3 and abs(sb[j, 0] - sb[k, 0]) > 2 * sh[k]:
            continue
        if best_gap is None or gap < best_gap:
            best, best_gap = j, gap
    return best


def _values_of_colon_keys(row: list[int], colon: list[bool]) -> bool:
    """A row (left to right) where a segment without a colon follows one ending with a colon: a row of
    "key: value" fields, not a table header."""
    return any(colon[a] and not colon[b] for a, b in zip(row, row[1:]))


def _header_rows(segs: list[list[int]], rows: list[list[int]], label: list[bool], colon: list[bool],
                 cfg: ClusterConfig) -> list[list[int]]:
    """Candidate table header rows among `rows`: >= 2 segments, all short labels, not key: value rows."""
    return [row for row in rows
            if len(row) >= 2 and all(label[j] and len(segs[j]) <= cfg.header_max_words for j in row)
            and not _values_of_colon_keys(row, colon)]


def split_under_headers(page: Page, segs: list[list[int]], boxes: np.ndarray, heights: np.ndarray,
                        cfg: ClusterConfig) -> list[list[int]]:
    """Below a header row, cut a segment that runs under several headers where its words pass from one
    header's column to the next, at a gap of at least cfg.cell_cut_gap heights and cfg.cell_cut_gap_rel
    median word gaps ("Wachtell, Lipton, Rosen (212) 403-1000" under "Company:" and "Phone No.:" is two
    cells). The rows considered are those of the table body: stacked below the header with no vertical
    gap wider than 3 header heights. Labels are never cut."""
    if len(segs) < 3:
        return segs
    sb = np.stack([_union(boxes, s) for s in segs])
    text = [" ".join(page.words[i].text for i in s) for s in segs]
    label = [is_key_text(t) or is_label_text(t) for t in text]
    colon = [t.rstrip().endswith((":", "：")) for t in text]
    rows = group_rows(sb)
    cut_gap = max(cfg.cell_cut_gap, cfg.cell_cut_gap_rel * word_gap_unit(segs, boxes, heights))
    cut: dict[int, list[list[int]]] = {}
    for heads in _header_rows(segs, rows, label, colon, cfg):
        h_head = float(np.median([np.median(heights[segs[h]]) for h in heads]))
        bottom = float(sb[heads, 3].max())
        for row in rows:
            top = float(sb[row, 1].min())
            if top <= bottom - 0.3 * h_head:
                continue
            if top - bottom > 3.0 * h_head:
                break
            bottom = max(bottom, float(sb[row, 3].max()))
            for j in row:
                if j in cut or label[j]:
                    continue
                col = [_column_of(boxes[i], sb, heads, h_head) for i in segs[j]]
                pieces, cur = [], [segs[j][0]]
                for a, b, ca, cb in zip(segs[j], segs[j][1:], col, col[1:]):
                    gap = (boxes[b, 0] - boxes[a, 2]) / max(heights[a], heights[b])
                    if ca is not None and cb is not None and ca != cb and gap >= cut_gap:
                        pieces.append(cur)
                        cur = []
                    cur.append(b)
                pieces.append(cur)
                if len(pieces) > 1:
                    cut[j] = pieces
    return [piece for j, s in enumerate(segs) for piece in cut.get(j, [s])]


def _column_of(box: np.ndarray, sb: np.ndarray, heads: list[int], h: float) -> int | None:
    """The header whose column holds a word box: the one it overlaps most (over the word's width), else
    the last header starting left of the word (within h): columns of left-aligned cells."""
    best, best_ov = None, 0.0
    for k in heads:
        ov = (min(box[2], sb[k, 2]) - max(box[0], sb[k, 0])) / max(1e-6, box[2] - box[0])
        if ov > best_ov:
            best, best_ov = k, ov
    if best_ov > 0.3:
        return best
    left = [k for k in heads if sb[k, 0] <= box[0] + h]
    return max(left, key=lambda k: float(sb[k, 0])) if left else None


def _table_pairs(segs, sb, sh, label, key, colon, used, cfg: ClusterConfig) -> tuple[list[KeyValue], set[int]]:
    """Header row -> cells: a row of >= 2 short labels (not "key: value" pairs) followed by rows that each
    put a cell under at least two of the headers (the table ends at the first row that does not, at a wide
    gap, or at a row of labels only that puts one under a column of values: the next header row). A row whose
    segments all continue the cell just above them (left-aligned, tightly stacked: a wrapped cell such as
    "Brown & Williamson" over "Tobacco Corp.") extends those cells instead of ending the table."""
    pairs, headers = [], set()
    rows = group_rows(sb)
    for r, row in enumerate(rows):
        heads = [j for j in row if label[j] and j not in used and len(segs[j]) <= cfg.header_max_words]
        if len(heads) < 2 or len(heads) < len(row) or _values_of_colon_keys(row, colon):
            continue
        columns: dict[int, list[list[int]]] = {h: [] for h in heads}
        bottom = float(sb[heads, 3].max())
        for brow in rows[r + 1:r + 1 + cfg.header_max_rows]:
            hits = {}
            for j in brow:
                under = [h for h in heads if _h_overlap(sb[h], sb[j]) > 0.3]
                if len(under) == 1 and j not in used and not key[j]:
                    hits.setdefault(under[0], j)
            top = min(float(sb[j, 1]) for j in brow)
            if top - bottom > 3.0 * float(np.median(sh[heads])) or _new_header(columns, hits, brow, label):
                break
            if len(hits) < 2:
                if not hits or len(hits) < len(brow) or not _continues_cell(columns, hits, sb, sh, cfg):
                    break
                for h, j in hits.items():
                    columns[h][-1].append(j)
                bottom = max(bottom, max(float(sb[j, 3]) for j in brow))
                continue
            bottom = max(float(sb[j, 3]) for j in brow)
            for h, j in hits.items():
                columns[h].append([j])
        filled = [h for h in heads if columns[h] and not all(label[c[0]] for c in columns[h])]
        if len(filled) < 2:
            continue
        for h in heads:
            for cell in columns[h]:
                pairs.append(KeyValue(tuple(segs[h]), tuple(i for j in cell for i in segs[j]), "table"))
                used.update(cell)
        headers.update(heads)
    return pairs, headers


def _new_header(columns: dict[int, list[list[int]]], hits: dict[int, int], row: list[int], label: list[bool]) -> bool:
    """A row of labels only, one of them under a column of values (numbers, dates): the next header row."""
    return all(label[j] for j in row) and \
        any(columns[h] and not any(label[c[0]] for c in columns[h]) for h in hits)


def _continues_cell(columns: dict[int, list[list[int]]], hits: dict[int, int], sb: np.ndarray, sh: np.ndarray,
                    cfg: ClusterConfig) -> bool:
    """Every hit sits just below the last cell of its column, left-aligned with it."""
    for h, j in hits.items():
        if not columns[h]:
            return False
        last = columns[h][-1][-1]
        gap = sb[j, 1] - sb[last, 3]
        if not -0.2 * sh[last] < gap <= cfg.block_gap * sh[last] or abs(sb[j, 0] - sb[last, 0]) > 1.5 * sh[last]:
            return False
    return True


def _given_lines(page: Page) -> list[list[int]] | None:
    """The page's own lines when a detector gave them (page.meta[GIVEN_LINES]) and they hold every word once,
    else None (the words are grouped)."""
    if not page.meta.get(GIVEN_LINES):
        return None
    lines = [list(ln.word_ids) for ln in page.lines if ln.word_ids]
    ids = sorted(i for ln in lines for i in ln)
    return lines if ids == list(range(len(page.words))) else None


@dataclass
class Clusterer:
    """Stage: fills line_id/block_id of words, page.lines and page.blocks (in reading order),
    page.links (key head word, value head word) and page.meta["reading_order"] / ["kv_pairs"]. Words are
    grouped into lines (`group_lines`), except on a page whose lines were given (GIVEN_LINES), which keeps
    them."""
    config: ClusterConfig = ClusterConfig()

    def __call__(self, page: Page) -> Page:
        ang, boxes, heights = page_frame(page)
        if not page.words:
            return page
        lines = _given_lines(page) or group_lines(boxes, heights, self.config, [w.text for w in page.words])
        lb = np.stack([_union(boxes, ln) for ln in lines])
        lh = np.array([float(np.median(heights[ln])) for ln in lines])
        blocks = group_blocks(lb, lh, self.config, [len(ln) for ln in lines])
        block_boxes = np.stack([_union(lb, m) for m, _ in blocks])
        order = xy_cut(block_boxes, list(range(len(blocks))), unit=float(np.median(heights)))
        page.lines, page.blocks = [], []
        for b_new, b in enumerate(order):
            members, kind = blocks[b]
            line_ids = []
            for li in members:
                words = lines[li]
                for i in words:
                    page.words[i].line_id = len(page.lines)
                    page.words[i].block_id = b_new
                line_ids.append(len(page.lines))
                page.lines.append(Line(quad=union_quad([page.words[i].quad for i in words], ang),
                                       word_ids=list(words), text=" ".join(page.words[i].text for i in words),
                                       block_id=b_new))
            page.blocks.append(Block(quad=union_quad([page.words[i].quad for li in members for i in lines[li]], ang),
                                     line_ids=line_ids, kind=kind))
        page.meta["reading_order"] = [i for ln in page.lines for i in ln.word_ids]
        table_words = {i for b in page.blocks if b.kind == "table" for li in b.line_ids
                       for i in page.lines[li].word_ids}
        kv = pair_keys_values(page, boxes, heights, [ln.word_ids for ln in page.lines], self.config, table_words)
        page.links = [(p.key[0], p.value[0]) for p in kv]
        page.meta["kv_pairs"] = [{"key": list(p.key), "value": list(p.value), "kind": p.kind} for p in kv]
        return page
