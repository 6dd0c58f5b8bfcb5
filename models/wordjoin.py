"""Join neighbouring detected words that read as one word: the converse of models.wordsplit.

The detector's link map breaks some words in two or more: letter-spaced Hangul labels ("은 행", "전 화번 호"),
numbers whose thin "." or "," it found no peak for ("289" + "35" for "289.35"), dashes between digits. The
pipeline (models.pipeline, after reading and splitting the words) reads pairs of neighbours of a line as one
crop, with the line reading (a word gap is read as a space even where the reading barely leans to one):
- a *tight* pair, whose gap is at most `CHAR_GAP_MARGIN` heights wider than the gaps between the detected
  characters of its line (at most `BARE_GAP` heights where the line has no two characters in a word), is
  joined when the crop reads without a space;
- two digits' words up to `JOIN_GAP` heights apart are joined when the crop reads as the first, one
  character, and the second ("289" "35" -> "289.35"), the mark the detector lost between them.
Runs of joined pairs become one word; a run of three or more is read once more as a whole, so its text is one
reading too (its spaces dropped: the pairs said one word). The joined word's quad runs from the first word's
left edge to the last one's right edge; it keeps the characters of its parts and the script of its longest
part.

Chosen on the detector's synthetic validation pages (48, seed 20000; `lakeocr train detector --eval-only`
renders them), with FUNSD as the check that real forms do not lose (`runs/` experiments, described in
ARCHITECTURE "Joining words"): the pipeline's word H-mean
- without joining: synthetic 0.908, FUNSD 0.669;
- joining every pair under 0.5 heights read without a space: 0.950, but FUNSD 0.646: on real typewritten
  forms the reading misses spaces between words 0.1-0.5 heights apart, and 145 of 164 joins were wrong;
- gap alone does not tell either: of the synthetic pairs under 0.1 heights apart, 56% are two words;
- the rules above: 0.945, FUNSD 0.671 (the tight rule alone 0.941 / 0.671; margins 0 / 0.05 / 0.1 / 0.15:
  0.938 / 0.941 / 0.943 / 0.943 and FUNSD 0.671 / 0.671 / 0.668 / 0.663).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from models.geometry import gap_heights
from models.types import Page, Word

JOIN_GAP = 0.5          # the widest gap, in word heights, between two words read again as one crop
CHAR_GAP_MARGIN = 0.05  # a tight pair's gap is at most this much wider than its line's character gaps
BARE_GAP = 0.2          # ... or, on a line with no character gaps, at most this wide

Reader = Callable[[Sequence[np.ndarray]], list[tuple[str, float]]]


def _height(q: np.ndarray) -> float:
    return float(np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])) / 2


def _union(first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """The quad from `first`'s left edge to `last`'s right edge (TL, TR, BR, BL in reading direction)."""
    return np.stack([first[0], last[1], last[2], first[3]]).astype(np.float32)


def _axis(q: np.ndarray) -> np.ndarray:
    axis = q[1] - q[0]
    return axis / (np.linalg.norm(axis) + 1e-9)


def char_gaps(word: Word) -> list[float]:
    """The gaps between the word's neighbouring detected characters along its reading direction, in its
    height."""
    q = np.asarray(word.quad, np.float64)
    axis, h = _axis(q), max(1e-6, _height(q))
    spans = sorted((float(p.min()), float(p.max())) for p in ((np.asarray(c.quad, np.float64) - q[0]) @ axis
                                                                for c in word.chars))
    return [(b0 - a1) / h for (_, a1), (b0, _) in zip(spans, spans[1:])]


def _digits(a: Word, b: Word) -> bool:
    return a.text[-1:].isdigit() and b.text[:1].isdigit()


def join_candidates(page: Page, max_gap: float = JOIN_GAP, margin: float = CHAR_GAP_MARGIN,
                    bare: float = BARE_GAP) -> list[tuple[int, int, bool]]:
    """(a, b, tight) for neighbours in a line with the same orientation, `b` under `max_gap` heights after
    `a`, that are tight (see the module docstring) or both digits where they meet."""
    out = []
    for line in page.lines:
        gaps = [g for i in line.word_ids for g in char_gaps(page.words[i])]
        widest = float(np.median(gaps)) + margin if gaps else bare
        for a, b in zip(line.word_ids, line.word_ids[1:]):
            wa, wb = page.words[a], page.words[b]
            g = gap_heights(wa.quad, wb.quad) if wa.orientation == wb.orientation else max_gap
            if g < max_gap and (g <= widest or _digits(wa, wb)):
                out.append((a, b, g <= widest))
    return out


def _one_word(text: str, a: Word, b: Word, tight: bool) -> bool:
    """Does the pair's reading `text` say one word: no space (tight pairs), or the two words' texts with one
    character between them (digit pairs)?"""
    text = text.strip()
    if not text or " " in text:
        return False
    return tight or (len(text) == len(a.text) + len(b.text) + 1 and text.startswith(a.text)
                     and text.endswith(b.text))


def join_words(page: Page, reader: Reader, max_gap: float = JOIN_GAP) -> Page:
    """Join, in place, the neighbours of `page` that `reader` (quads -> [(text, conf)], the line reading)
    reads as one word; lines' word ids follow. Returns `page`."""
    pairs = join_candidates(page, max_gap)
    if not pairs:
        return page
    reads = reader([_union(page.words[a].quad, page.words[b].quad) for a, b, _ in pairs])
    joined = {a: (b, text.strip(), conf) for (a, b, tight), (text, conf) in zip(pairs, reads)
              if _one_word(text, page.words[a], page.words[b], tight)}
    if not joined:
        return page
    runs: list[list[int]] = []                  # word index runs in reading order, each read as one word
    targets = {b for b, _, _ in joined.values()}
    for a in joined:
        if a in targets:                        # not the first word of its run
            continue
        run = [a]
        while run[-1] in joined:
            run.append(joined[run[-1]][0])
        runs.append(run)
    inner = {k for run in runs for k in run[1:]}
    quads = [_union(page.words[r[0]].quad, page.words[r[-1]].quad) for r in runs]
    long_runs = [i for i, r in enumerate(runs) if len(r) > 2]
    again = dict(zip(long_runs, reader([quads[i] for i in long_runs]))) if long_runs else {}
    head = {}
    for i, run in enumerate(runs):
        parts = [page.words[k] for k in run]
        text, conf = again.get(i, joined[run[0]][1:])
        text = "".join(text.split()) or "".join(p.text for p in parts)     # one word: no space, even where
                                                                            # a run's whole reading has one
        longest = max(parts, key=lambda p: len(p.text))
        head[run[0]] = Word(quad=quads[i], text=text, conf=float(conf), script=longest.script,
                            orientation=parts[0].orientation, chars=[c for p in parts for c in p.chars],
                            line_id=parts[0].line_id, block_id=parts[0].block_id, label=parts[0].label)
    new_index: dict[int, int] = {}
    words: list[Word] = []
    for k, w in enumerate(page.words):
        if k in inner:
            continue
        new_index[k] = len(words)
        words.append(head.get(k, w))
    owner = {k: new_index[run[0]] for run in runs for k in run}
    for line in page.lines:
        ids: list[int] = []
        for k in line.word_ids:
            j = owner.get(k, new_index.get(k))
            if not ids or ids[-1] != j:
                ids.append(j)
        line.word_ids = ids
    page.words = words
    return page
