"""Typed records shared by every stage of the OCR stack.

Coordinate convention (stated once, used everywhere):
    absolute pixels of the original page image, x to the right, y down, float32;
    a *quad* is a (4, 2) array of corners clockwise starting at the top-left corner
    *of the text in its reading direction*: TL, TR, BR, BL. For upright text that is
    the usual axis-aligned order; for a page rotated by 90 degrees clockwise the
    text's TL corner is the top-right corner of the box on the image.

Orientation is the clockwise rotation (0, 90, 180, 270 degrees) that was applied to
upright text to obtain what is on the image; rotating the image back by that angle
counter-clockwise makes the text upright.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Script = Literal["hangul", "latin", "digits", "other"]
SCRIPTS: tuple[str, ...] = ("hangul", "latin", "digits", "other")
ORIENTATIONS: tuple[int, ...] = (0, 90, 180, 270)

ENTITY_TYPES: tuple[str, ...] = (
    "PERSON", "ORG", "ADDRESS", "DATE", "TIME", "MONEY", "PHONE", "EMAIL", "URL",
    "RRN",        # Korean resident registration number (checksum)
    "BRN",        # Korean business registration number (checksum)
    "CARD",       # payment card number (Luhn)
    "ACCOUNT",    # bank account number
)


def as_quad(points) -> np.ndarray:
    """Return a (4, 2) float32 quad; raise ValueError on anything else."""
    q = np.asarray(points, dtype=np.float32)
    if q.shape != (4, 2) or not np.all(np.isfinite(q)):
        raise ValueError(f"a quad is 4 finite (x, y) points, got shape {q.shape}")
    return q


@dataclass(frozen=True)
class Char:
    text: str
    quad: np.ndarray
    score: float = 1.0


@dataclass
class Word:
    """One word: the unit the recognizer reads. `chars` may be empty for predictions."""
    quad: np.ndarray
    text: str = ""
    conf: float = 1.0
    script: str = "other"
    orientation: int = 0
    chars: list[Char] = field(default_factory=list)
    line_id: int | None = None
    block_id: int | None = None
    label: str | None = None          # entity / FUNSD label, when known


@dataclass
class Line:
    quad: np.ndarray
    word_ids: list[int]
    text: str = ""
    block_id: int | None = None


@dataclass
class Block:
    quad: np.ndarray
    line_ids: list[int]
    kind: str = "text"                 # text | table | header | ...


@dataclass
class Entity:
    label: str                          # one of ENTITY_TYPES (or a dataset label)
    text: str
    word_ids: list[int]
    value: str | None = None            # normalised value (ISO date, decimal amount, digits...)
    valid: bool | None = None           # checksum / format validation, where one exists


# Page.meta key set by a detector whose boxes are given lines (a benchmark's GT lines): the readers read each
# box as a line (spaces inside it kept), and the clusterer keeps the given lines instead of grouping words
GIVEN_LINES = "given_lines"


@dataclass
class Page:
    """A page of text, ground truth or prediction: words in reading order plus structure."""
    width: int
    height: int
    words: list[Word] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    links: list[tuple[int, int]] = field(default_factory=list)   # (key word idx, value word idx)
    orientation: int = 0
    fields: dict[str, str] = field(default_factory=dict)
    template_id: str | None = None
    meta: dict = field(default_factory=dict)
