"""Tiny seeded text pages with exact character boxes, rendered with PIL in milliseconds.

Used by the tests and the CI smoke training (and as a stand-in data source when models.synth is not
available). Character quads are the ink boxes of the glyphs; word quads enclose their characters; pages
can be rotated by multiples of 90 degrees, the GT rotating exactly with the image.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from models.geometry import box_to_quad, rotation_matrix_90, transform_quads
from models.types import Char, Line, Page, Word

TOY_FONTS: tuple[str, ...] = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
)
ALPHABET = "ABCDEFGHKMNPRSTUVWXYZabcdeghkmnopqrsuvwxyz0123456789"


def _font(size: int, rng: np.random.Generator) -> ImageFont.FreeTypeFont:
    paths = [p for p in TOY_FONTS if Path(p).exists()]
    if not paths:
        return ImageFont.load_default(size)
    return ImageFont.truetype(paths[int(rng.integers(len(paths)))], size, layout_engine=ImageFont.Layout.BASIC)


def _enclosing(quads) -> np.ndarray:
    pts = np.concatenate(quads)
    return box_to_quad(pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max())


def _draw_word(draw: ImageDraw.ImageDraw, font, text: str, x: float, y: float) -> Word:
    """Draw `text` with its left baseline-ish origin at (x, y); return the Word with exact ink boxes."""
    chars = []
    for i, ch in enumerate(text):
        cx = x + font.getlength(text[:i])
        draw.text((cx, y), ch, fill=0, font=font)
        x0, y0, x1, y1 = font.getbbox(ch)
        chars.append(Char(ch, box_to_quad(cx + x0, y + y0, cx + x1, y + y1)))
    return Word(quad=_enclosing([c.quad for c in chars]), text=text, chars=chars)


def render_toy_page(rng: np.random.Generator, width: int = 256, height: int = 256, orientation: int = 0,
                    font_px: tuple[int, int] = (14, 26)) -> tuple[np.ndarray, Page]:
    """A white page with a few lines of random words, rotated by `orientation` (0/90/180/270, clockwise).
    Returns (H x W x 3 uint8 RGB image, Page with words, chars, lines, orientation)."""
    if orientation not in (0, 90, 180, 270):
        raise ValueError(f"orientation must be 0, 90, 180 or 270, got {orientation}")
    img = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(img)
    words: list[Word] = []
    lines: list[Line] = []
    y = float(rng.integers(4, 12))
    while True:
        size = int(rng.integers(font_px[0], font_px[1] + 1))
        font = _font(size, rng)
        if y + size * 1.3 > height - 4:
            break
        x = float(rng.integers(4, 20))
        ids = []
        while True:
            text = "".join(rng.choice(list(ALPHABET), size=int(rng.integers(1, 8))))
            if x + font.getlength(text) > width - 4:
                break
            word = _draw_word(draw, font, text, x, y)
            word.line_id = len(lines)
            ids.append(len(words))
            words.append(word)
            x += font.getlength(text) + font.getlength(" ") * float(rng.uniform(1.0, 3.0))
        if ids:
            lines.append(Line(quad=_enclosing([words[i].quad for i in ids]), word_ids=ids,
                              text=" ".join(words[i].text for i in ids)))
        y += size * float(rng.uniform(1.3, 2.0))
    page = Page(width=width, height=height, words=words, lines=lines)
    arr = np.asarray(img)
    if orientation:
        arr, page = rotate_page(arr, page, orientation // 90)
    return np.repeat(arr[:, :, None], 3, axis=2), page


def rotate_page(image: np.ndarray, page: Page, k: int) -> tuple[np.ndarray, Page]:
    """Rotate an image by k*90 degrees clockwise and its page GT with it (corner order kept, so each quad
    still starts at the text's top-left); orientations add up."""
    m, (w, h) = rotation_matrix_90(k, page.width, page.height)
    rot = lambda q: transform_quads(q, m)                                      # noqa: E731
    words = [Word(quad=rot(w.quad), text=w.text, conf=w.conf, script=w.script,
                  orientation=(w.orientation + 90 * k) % 360, line_id=w.line_id,
                  chars=[Char(c.text, rot(c.quad), c.score) for c in w.chars]) for w in page.words]
    lines = [Line(quad=rot(ln.quad), word_ids=list(ln.word_ids), text=ln.text) for ln in page.lines]
    out = Page(width=w, height=h, words=words, lines=lines, orientation=(page.orientation + 90 * k) % 360)
    return np.ascontiguousarray(np.rot90(image, -k)), out
