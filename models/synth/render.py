"""The page canvas: draws text with exact per-character ground truth.

One `PageCanvas.text(...)` call draws one text line (one `Line`), word by word, each word with a single
`draw.text` (basic layout). Character quads are measured, not guessed: the pen position of character i is
`getlength(word[:i+1]) - getlength(word[i])` (kerning-aware), and its quad is the glyph's bounding box
ink box of its rendered glyph bitmap (getmask2, cached per face/size/char) at that pen, rounded outward
to whole pixels. A word's quad encloses its
characters' quads, a line's its words', a block's its lines'. Words are appended in reading order: the
caller draws in reading order.

Coordinates follow models.types: absolute pixels, x right, y down, pixel (i, j) covers [i, i+1) x [j, j+1).
"""
from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from models.geometry import box_to_quad
from models.synth.charset import script_of
from models.synth.content import EntityText
from models.synth.fonts import FontInfo
from models.types import Block, Char, Entity, Line, Page, Word


@dataclass(frozen=True)
class Style:
    """How a piece of text is drawn: face, pixel size (em), gray ink level (0 = black)."""
    font: FontInfo
    size: int
    ink: int = 0

    def pil(self):
        return self.font.pil(self.size)

    @property
    def ascent(self) -> int:
        return self.pil().getmetrics()[0]

    @property
    def line_height(self) -> int:
        a, d = self.pil().getmetrics()
        return a + d


@dataclass(frozen=True)
class Span:
    """A run of text inside a line (may hold several words); optionally an entity and a FUNSD role
    ("question" for keys, "answer" for values, "header", "other")."""
    text: str
    entity: EntityText | None = None
    role: str | None = None

    @staticmethod
    def of(item) -> "Span":
        if isinstance(item, Span):
            return item
        if isinstance(item, EntityText):
            return Span(item.text, entity=item)
        return Span(str(item))


@dataclass(frozen=True)
class DrawnLine:
    """Result of `PageCanvas.text`: the layout box (x0, y0, x1, y1: pen extent x line height) and the word
    indices of each span, for entities and key->value links."""
    box: tuple[float, float, float, float]
    span_words: tuple[tuple[int, ...], ...]
    line_id: int | None

    @property
    def word_ids(self) -> list[int]:
        return [i for ids in self.span_words for i in ids]


@functools.lru_cache(maxsize=200_000)
def _glyph(font, ch: str) -> tuple[float, tuple[int, int, int, int]]:
    """(advance, tight ink bbox relative to the pen on the baseline) of one character, measured on the
    rendered glyph bitmap (font.getbbox would include the advance cell). No ink: a zero-width box."""
    adv = font.getlength(ch)
    mask, (ox, oy) = font.getmask2(ch, mode="L", anchor="ls")
    box = mask.getbbox() if mask.size[0] and mask.size[1] else None
    if box is None:
        return adv, (0, 0, 0, 0)
    return adv, (ox + box[0], oy + box[1], ox + box[2], oy + box[3])


def word_char_boxes(font, word: str) -> tuple[np.ndarray, float]:
    """Per-character ink boxes (n, 4) [x0, y0, x1, y1] relative to the word's pen origin on the baseline,
    and the word's advance. Characters without ink (spaces) get a zero-width box at their pen.
    Pens are the summed advances unless the word's measured length differs (kerning), in which case
    pen_i = getlength(word[:i+1]) - advance(word[i])."""
    n = len(word)
    glyphs = [_glyph(font, ch) for ch in word]
    advances = np.array([g[0] for g in glyphs], np.float64)
    pens = np.concatenate([[0.0], np.cumsum(advances)[:-1]])
    total = font.getlength(word) if n > 1 else float(advances[0])
    if n > 1 and abs(total - advances.sum()) > 1e-3:          # kerned pairs: measure prefixes
        pens = np.array([font.getlength(word[: i + 1]) - advances[i] for i in range(n)])
    boxes = np.zeros((n, 4), np.float32)
    for i, (_adv, (x0, y0, x1, y1)) in enumerate(glyphs):
        boxes[i] = (np.floor(pens[i] + x0), y0, np.ceil(pens[i] + x1), y1)
    return boxes, total


class PageCanvas:
    """A grayscale page being drawn, plus its ground truth records."""

    def __init__(self, width: int, height: int, paper: int = 255):
        if width < 8 or height < 8:
            raise ValueError(f"page too small: {width}x{height}")
        self.width, self.height = int(width), int(height)
        self.image = Image.new("L", (self.width, self.height), paper)
        self.draw = ImageDraw.Draw(self.image)
        self.words: list[Word] = []
        self.lines: list[Line] = []
        self.blocks: list[Block] = []
        self.entities: list[Entity] = []
        self.links: list[tuple[int, int]] = []
        self.kv_spans: list[tuple[list[int], list[int]]] = []
        self._block: int | None = None
        self.fallback = None          # a FontSet to take a covering face from when a style's face lacks glyphs

    # --- structure -----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def block(self, kind: str = "text"):
        """Lines drawn inside the `with` form one Block (e.g. "text", "table", "header", "kv", "list")."""
        if self._block is not None:
            raise ValueError("blocks do not nest")
        self.blocks.append(Block(quad=np.zeros((4, 2), np.float32), line_ids=[], kind=kind))
        self._block = len(self.blocks) - 1
        try:
            yield self._block
        finally:
            bid, self._block = self._block, None
            if self.blocks[bid].line_ids:
                self._close_block(bid)
            else:               # nothing drawn: drop it (it is the last block, nothing came after)
                self.blocks.pop()

    def _close_block(self, bid: int) -> None:
        blk = self.blocks[bid]
        if not blk.line_ids:
            return
        boxes = np.array([_quad_box(self.lines[i].quad) for i in blk.line_ids])
        blk.quad = box_to_quad(boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max())

    def link(self, key_words, value_words) -> None:
        """Key -> value link: Page.links gets (first key word, first value word); the full word lists go
        to page.meta["kv_spans"]."""
        key_words, value_words = list(key_words), list(value_words)
        if key_words and value_words:
            self.links.append((key_words[0], value_words[0]))
            self.kv_spans.append((key_words, value_words))

    # --- text ----------------------------------------------------------------------------------------
    def measure(self, text: str, style: Style, space: float = 1.0) -> float:
        """Advance width of `text` drawn by `text()` with the same style and space factor."""
        font = self._covering(style, text).pil()
        words = text.split()
        if not words:
            return 0.0
        sp = font.getlength(" ") * space
        return sum(font.getlength(w) for w in words) + sp * (len(words) - 1)

    def text(self, x: float, y: float, spans, style: Style, *, space: float = 1.0,
             align: str = "left") -> DrawnLine:
        """Draw one line with its top-left at (x, y) (align "right" puts its right end at x, "center" its
        middle). `spans`: a str, an EntityText, a Span or a list of them; spaces separate words."""
        if isinstance(spans, (str, Span, EntityText)):
            spans = [spans]
        spans = [Span.of(s) for s in spans]
        style = self._covering(style, " ".join(s.text for s in spans))
        font = style.pil()
        ascent, descent = font.getmetrics()
        full = " ".join(s.text for s in spans)
        width = self.measure(full, style, space)
        if align == "right":
            x -= width
        elif align == "center":
            x -= width / 2
        elif align != "left":
            raise ValueError(f"align is left, right or center, got {align!r}")
        x, baseline = int(round(x)), int(round(y)) + ascent
        sp = font.getlength(" ") * space
        auto_block = self._block is None
        if auto_block:
            self.blocks.append(Block(quad=np.zeros((4, 2), np.float32), line_ids=[], kind="text"))
        bid = len(self.blocks) - 1 if auto_block else self._block
        line_id = len(self.lines)
        span_words: list[tuple[int, ...]] = []
        pen = float(x)
        for s in spans:
            ids = []
            for w in s.text.split():
                ids.append(self._word(w, pen, baseline, font, style.ink, line_id, bid, s.role))
                pen += font.getlength(w) + sp
            span_words.append(tuple(ids))
            if s.entity is not None and ids:
                e = s.entity
                self.entities.append(Entity(label=e.label, text=" ".join(self.words[i].text for i in ids),
                                            word_ids=ids, value=e.value, valid=e.valid))
        all_ids = [i for ids in span_words for i in ids]
        if not all_ids:
            if auto_block:
                self.blocks.pop()
            return DrawnLine((x, baseline - ascent, x, baseline + descent), tuple(span_words), None)
        boxes = np.array([_quad_box(self.words[i].quad) for i in all_ids])
        quad = box_to_quad(boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max())
        self.lines.append(Line(quad=quad, word_ids=all_ids, text=" ".join(self.words[i].text for i in all_ids),
                               block_id=bid))
        self.blocks[bid].line_ids.append(line_id)
        if auto_block:
            self._close_block(bid)
        return DrawnLine((x, baseline - ascent, x + width, baseline + descent), tuple(span_words), line_id)

    def _covering(self, style: Style, text: str) -> Style:
        """The style itself when its face has every glyph of `text`, else the same size in the first face of
        the fallback set that has them (never tofu); ValueError when none has."""
        if style.font.covers(text):
            return style
        options = self.fallback.for_text(text) if self.fallback is not None else ()
        if not options:
            raise ValueError(f"no font covers {text!r}")
        return Style(options[0], style.size, style.ink)

    def _word(self, w: str, pen: float, baseline: int, font, ink: int, line_id: int, bid: int,
              role: str | None) -> int:
        ox = int(round(pen))
        self.draw.text((ox, baseline), w, font=font, fill=ink, anchor="ls")
        boxes, _ = word_char_boxes(font, w)
        boxes = boxes + np.array([ox, baseline, ox, baseline], np.float32)
        chars = [Char(c, box_to_quad(*b)) for c, b in zip(w, boxes)]
        inked = boxes[boxes[:, 2] > boxes[:, 0]]
        wb = inked if len(inked) else boxes
        quad = box_to_quad(wb[:, 0].min(), wb[:, 1].min(), wb[:, 2].max(), wb[:, 3].max())
        self.words.append(Word(quad=quad, text=w, script=script_of(w), chars=chars, line_id=line_id,
                               block_id=bid, label=role))
        return len(self.words) - 1

    def paragraph(self, x: float, y: float, width: float, text: str, style: Style, *,
                  leading: float = 1.3, max_y: float | None = None, justify: bool = False) -> float:
        """Word-wrap `text` into lines of at most `width`; returns the y below the last line drawn.
        Stops before `max_y`. Draw inside a `block()` to make the paragraph one block."""
        font = style.pil()
        sp = font.getlength(" ")
        step = style.line_height * leading
        line: list[str] = []
        cur = 0.0
        for w in text.split():
            wl = font.getlength(w)
            if line and cur + sp + wl > width:
                if max_y is not None and y + step > max_y:
                    return y
                self._wrap_line(x, y, line, style, width if justify else None)
                y += step
                line, cur = [], 0.0
            cur = wl if not line else cur + sp + wl
            line.append(w)
        if line and (max_y is None or y + step <= max_y):
            self._wrap_line(x, y, line, style, None)
            y += step
        return y

    def _wrap_line(self, x, y, words, style, width):
        space = 1.0
        if width is not None and len(words) > 1:
            font = style.pil()
            natural = sum(font.getlength(w) for w in words)
            space = max(1.0, (width - natural) / ((len(words) - 1) * font.getlength(" ")))
            space = min(space, 3.0)
        self.text(x, y, " ".join(words), style, space=space)

    # --- graphics (not text; no ground truth) ---------------------------------------------------------
    def rule(self, x0, y0, x1, y1, ink: int = 0, width: int = 1) -> None:
        self.draw.line([(x0, y0), (x1, y1)], fill=ink, width=width)

    def rect(self, x0, y0, x1, y1, ink: int = 0, width: int = 1, fill: int | None = None) -> None:
        self.draw.rectangle([x0, y0, x1, y1], outline=ink, width=width, fill=fill)

    def to_page(self, **meta) -> Page:
        meta = dict(meta)
        if self.kv_spans:
            meta["kv_spans"] = [[list(k), list(v)] for k, v in self.kv_spans]
        return Page(width=self.width, height=self.height, words=self.words, lines=self.lines,
                    blocks=self.blocks, entities=self.entities, links=self.links,
                    meta=meta)


def _quad_box(q: np.ndarray) -> tuple[float, float, float, float]:
    return float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max())
