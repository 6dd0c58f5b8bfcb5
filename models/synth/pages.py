"""Full synthetic pages with exact ground truth.

`render_page(rng, kind=..., lang=...)` lays out a document of one kind (models.synth.kinds) on a grayscale
canvas, colours it (paper, ink, stains, stamps), applies scan geometry (small skew, mild perspective) and
a 0/90/180/270 rotation with the GT mapped by the same matrices, then the scanner degradations.

Stages and the flags that switch them:
    layout (always) -> print look: faint/bold, paper texture, stains, stamps   (degrade)
    -> skew + perspective                                                       (degrade)
    -> rotation by k * 90 degrees clockwise                                     (rotate)
    -> scanner chain: light, blur, low-res, noise, binarisation, fax, JPEG      (degrade)
Stamps and seals are drawn over text and are not part of the ground truth (like a human transcriber would
skip them). Words are listed in reading order; `page.meta` holds kind, lang, dpi and the generator.
"""
from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw

from models.synth import degrade as dg
from models.synth.fonts import FontSet, load_fonts
from models.synth.kinds import KINDS
from models.synth.layouts import Doc
from models.synth.warp import rotate90, skew_perspective
from models.types import Page

PAGE_KINDS: tuple[str, ...] = tuple(KINDS)
LANGS: tuple[str, ...] = ("ko", "en", "mixed")
DPI_RANGE: tuple[int, int] = (100, 300)
ORIENTATION_P: tuple[float, ...] = (0.55, 0.15, 0.15, 0.15)   # k = 0, 1, 2, 3 (x 90 degrees clockwise)


def render_page(rng: np.random.Generator, *, kind: str = "random", lang: str = "mixed", dpi: int | None = None,
                rotate: bool = True, degrade: bool = True, fonts: FontSet | None = None) -> tuple[np.ndarray, Page]:
    """Render one page: (image (H, W, 3) uint8 RGB, Page with exact GT). `kind`: one of PAGE_KINDS or
    "random"/"mixed" (uniform over kinds); `lang`: "ko", "en", "mixed"; `dpi` None draws from DPI_RANGE
    (cards are rendered at twice the dpi, as they are scanned close up)."""
    if kind in ("random", "mixed"):
        kind = PAGE_KINDS[int(rng.integers(len(PAGE_KINDS)))]
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {PAGE_KINDS} or 'random', got {kind!r}")
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
    if dpi is None:
        dpi = int(rng.integers(DPI_RANGE[0], DPI_RANGE[1] + 1))
    if not 50 <= dpi <= 600:
        raise ValueError(f"dpi must be within 50..600, got {dpi}")
    fonts = fonts or load_fonts("train")
    size_fn, layout = KINDS[kind]
    doc = Doc(rng, fonts, lang, dpi * 2 if kind == "card" else dpi, size_fn(rng))
    height = layout(doc)
    canvas = doc.canvas
    if height < canvas.height:        # variable-length kinds (receipts): cut the unused paper
        canvas.image = canvas.image.crop((0, 0, canvas.width, max(8, height)))
        canvas.height = max(8, height)
    page = canvas.to_page(kind=kind, lang=lang, dpi=doc.dpi, source="lakeocr-synth", font=doc.body.name)
    gray = np.asarray(canvas.image)
    return finish_page(gray, page, rng, rotate=rotate, degrade=degrade)


def finish_page(gray: np.ndarray, page: Page, rng: np.random.Generator, *, rotate: bool = True,
                degrade: bool = True) -> tuple[np.ndarray, Page]:
    """Colour, warp, rotate and degrade a rendered grayscale page; GT follows every geometric step."""
    if degrade:
        gray = dg.apply_random(gray, rng, ((0.08, dg.faint), (0.06, dg.bold), (0.1, dg.pattern), (0.4, dg.paper)))
    img = colorize(gray, rng, plain=not degrade)
    if degrade:
        img = dg.apply_random(img, rng, ((0.12, dg.stain),))
        if rng.random() < 0.25:
            img = stamp(img, rng)
        if rng.random() < 0.5:
            # what shows around a skewed page: white scanner lid, or a dark / gray / wooden surface
            surfaces = ((255, 255, 255), (30, 30, 32), (120, 120, 118), (150, 110, 70))
            border = surfaces[int(rng.choice(4, p=(0.7, 0.1, 0.1, 0.1)))]
            img, page = skew_perspective(img, page, rng, border=border)
    if rotate:
        k = int(rng.choice(4, p=ORIENTATION_P))
        img, page = rotate90(img, page, k)
    if degrade:
        if rng.random() < 0.05:
            img = dg.fax(img, rng)
        img = dg.apply_random(img, rng, dg.PAGE_STEPS)
    return np.ascontiguousarray(img), page


def colorize(gray: np.ndarray, rng: np.random.Generator, plain: bool = False) -> np.ndarray:
    """Gray page -> RGB: white maps to a paper colour, black to an ink colour (black, dark blue, dark gray)."""
    if plain:
        return np.repeat(gray[:, :, None], 3, axis=2)
    # white, gray or cream paper: a common darkening plus less blue (and a little less green) for cream
    paper = 255.0 - rng.uniform(0, 14) * (rng.random() < 0.6) - np.array([0, rng.uniform(0, 4), rng.uniform(0, 14)]) \
        * (rng.random() < 0.4)
    paper = paper.astype(np.float32)
    inks = ([0, 0, 0], [20, 25, 90], [40, 40, 40], [15, 15, 30])
    ink = np.array(inks[int(rng.integers(len(inks)))], np.float32)
    v = np.arange(256, dtype=np.float32) / 255.0
    chans = [cv2.LUT(gray, np.clip(ink[c] + (paper[c] - ink[c]) * v, 0, 255).astype(np.uint8)) for c in range(3)]
    return cv2.merge(chans)


def stamp(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A red seal (circle or square with characters) multiplied over the page at a random place."""
    h, w = img.shape[:2]
    s = int(min(h, w) * rng.uniform(0.08, 0.16))
    if s < 16:
        return img
    mask = Image.new("L", (s, s), 0)
    d = ImageDraw.Draw(mask)
    lw = max(2, s // 18)
    if rng.random() < 0.5:
        d.ellipse([lw, lw, s - lw, s - lw], outline=255, width=lw)
    else:
        d.rectangle([lw, lw, s - lw, s - lw], outline=255, width=lw)
    fonts = load_fonts("train").for_script("hangul")
    if fonts:
        f = fonts[int(rng.integers(len(fonts)))].pil(max(8, s // 4))
        text = ("인", "印", "직인", "확인", "PAID", "검수")[int(rng.integers(6))]
        if all(f.getmask(ch).getbbox() for ch in text):
            d.text((s / 2, s / 2), text, font=f, fill=255, anchor="mm")
    m = np.asarray(mask, np.float32) / 255.0 * float(rng.uniform(0.45, 0.85))
    x0, y0 = int(rng.integers(0, max(1, w - s))), int(rng.integers(0, max(1, h - s)))
    region = img[y0:y0 + s, x0:x0 + s].astype(np.float32)
    m = m[: region.shape[0], : region.shape[1], None]
    red = np.array([205, 30, 35], np.float32)
    img = img.copy()
    img[y0:y0 + s, x0:x0 + s] = np.clip(region * (1 - m) + np.minimum(region, red) * m, 0, 255).astype(np.uint8)
    return img
