"""Training data for the detector: pages -> scaled random crops -> target maps -> batches (no MLflow here).

A *page source* is any callable `rng -> (image, Page)` (RGB or gray uint8 image, Page with words[].chars[]):
`synth_source` renders with models.synth, `toy_source` with the tiny PIL renderer, and `CachedPages`
reads pages pre-rendered to `.npz` files (written by `write_cache`, e.g. in the background while training).

Every page is first scaled so that its long side is `max_side * U(scale_range)` (the predictor scales
pages to `max_side`, so training sees text at the sizes inference sees), then cropped to `crop` pixels.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np
import torch

from models.detection.targets import TargetConfig, encode
from models.detection.toy import rotate_page
from models.engine import SeededStream
from models.gtio import page_from_dict, page_to_dict
from models.types import Char, Line, Page, Word

PageSource = Callable[[np.random.Generator], tuple[np.ndarray, Page]]


@dataclass(frozen=True)
class DataConfig:
    max_side: int = 1600           # 0 = keep the source's own size (toy pages), before scale_range
    scale_range: tuple[float, float] = (0.7, 1.3)
    crop: int = 256
    batch_size: int = 8
    crops_per_page: int = 4        # crops taken from one page before drawing the next
    text_bias: float = 0.8         # probability that a crop is centred on a random word
    rotate_p: float = 0.5          # probability that a crop is turned by a random 90/180/270 degrees
    mean: float = 0.5
    std: float = 0.25


def to_gray(image: np.ndarray) -> np.ndarray:
    """HxW or HxWx3 uint8 -> HxW uint8 gray."""
    if image.ndim == 3:
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    return image


def transform_page(page: Page, scale: float | tuple[float, float], dx: float = 0.0, dy: float = 0.0,
                   size: tuple[int, int] | None = None) -> Page:
    """Page with every quad mapped by p -> p * scale + (dx, dy) (scale: one factor or (sx, sy));
    `size` = new (width, height). Orientation, line ids and scores are kept."""
    sxy = np.broadcast_to(np.asarray(scale, np.float32), (2,))
    quads = [w.quad for w in page.words] + [c.quad for w in page.words for c in w.chars] + [ln.quad for ln in page.lines]
    moved = iter(np.asarray(quads, np.float32).reshape(-1, 4, 2) * sxy + np.array([dx, dy], np.float32)
                 if quads else ())                     # one array operation for every quad of the page
    words = [Word(quad=next(moved), text=w.text, conf=w.conf, script=w.script, orientation=w.orientation,
                  line_id=w.line_id, block_id=w.block_id, label=w.label) for w in page.words]
    for w, old in zip(words, page.words):
        w.chars = [Char(c.text, next(moved), c.score) for c in old.chars]
    lines = [Line(quad=next(moved), word_ids=list(ln.word_ids), text=ln.text, block_id=ln.block_id)
             for ln in page.lines]
    width, height = size or (round(page.width * float(sxy[0])), round(page.height * float(sxy[1])))
    return Page(width=width, height=height, words=words, lines=lines, orientation=page.orientation)


def scale_to_side(image: np.ndarray, page: Page, side: float) -> tuple[np.ndarray, Page]:
    """Resize image (and GT) so that its long side is `side` pixels."""
    h, w = image.shape[:2]
    s = side / max(h, w)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    out = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    return out, transform_page(page, (nw / w, nh / h), size=(nw, nh))


def random_crop(image: np.ndarray, page: Page, size: int, rng: np.random.Generator,
                text_bias: float) -> tuple[np.ndarray, Page]:
    """A size x size crop (white padding where the page is smaller), centred on a random word with
    probability `text_bias`; GT is shifted with it and words far outside are dropped."""
    h, w = image.shape[:2]
    if page.words and rng.random() < text_bias:
        c = page.words[int(rng.integers(len(page.words)))].quad.mean(axis=0)
        x0 = int(c[0] - size / 2 + rng.integers(-size // 4, size // 4 + 1))
        y0 = int(c[1] - size / 2 + rng.integers(-size // 4, size // 4 + 1))
    else:
        x0 = int(rng.integers(min(0, w - size), max(0, w - size) + 1))
        y0 = int(rng.integers(min(0, h - size), max(0, h - size) + 1))
    x0, y0 = int(np.clip(x0, min(0, w - size), max(0, w - size))), int(np.clip(y0, min(0, h - size), max(0, h - size)))
    crop = np.full((size, size), 255, np.uint8)
    sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(w, x0 + size), min(h, y0 + size)
    crop[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
    moved = transform_page(page, 1.0, -x0, -y0, size=(size, size))
    margin = size * 0.5
    moved.words = [wd for wd in moved.words
                   if -margin < wd.quad[:, 0].mean() < size + margin and -margin < wd.quad[:, 1].mean() < size + margin]
    return crop, moved


FINE_TARGETS = ("center", "box", "box_mask", "offset")      # the character maps a fine head trains on


def make_example(image: np.ndarray, page: Page, cfg: DataConfig, rng: np.random.Generator,
                 tcfg: TargetConfig = TargetConfig(), fine: TargetConfig | None = None) -> dict[str, np.ndarray]:
    """One training example (already-scaled gray page -> crop -> normalised image + target maps). With `fine`
    (a TargetConfig at the fine head's stride) also that stride's character maps, as `fine_<name>`."""
    crop, cpage = random_crop(image, page, cfg.crop, rng, cfg.text_bias)
    if rng.random() < cfg.rotate_p:      # balances the four reading directions (pages are mostly upright)
        crop, cpage = rotate_page(crop, cpage, int(rng.integers(1, 4)))
    ex = encode(cpage, crop.shape, tcfg)
    if fine is not None:
        maps = encode(cpage, crop.shape, fine)
        ex.update({f"fine_{k}": maps[k] for k in FINE_TARGETS})
    ex["image"] = ((crop.astype(np.float32) / 255.0 - cfg.mean) / cfg.std)[None]
    return ex


def collate(examples: list[dict[str, np.ndarray]]) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.stack([e[k] for e in examples])) for k in examples[0]}


def batches(source: PageSource, cfg: DataConfig, seed: int = 0, tcfg: TargetConfig = TargetConfig(),
            fine: TargetConfig | None = None) -> Iterator[dict[str, torch.Tensor]]:
    """Endless seeded batches: each page is scaled once, then `crops_per_page` crops are taken from it
    (`fine`: see make_example)."""
    rng = np.random.default_rng(seed)
    pending: list[dict[str, np.ndarray]] = []
    while True:
        image, page = source(rng)
        side = (cfg.max_side or max(image.shape[:2])) * rng.uniform(*cfg.scale_range)
        gray, spage = scale_to_side(to_gray(image), page, side)
        for _ in range(cfg.crops_per_page):
            pending.append(make_example(gray, spage, cfg, rng, tcfg, fine))
            if len(pending) == cfg.batch_size:
                yield collate(pending)
                pending = []


def batch_stream(source: PageSource, cfg: DataConfig, seed: int = 0, tcfg: TargetConfig = TargetConfig(),
                 fine: TargetConfig | None = None) -> SeededStream:
    """`batches(...)` as an IterableDataset, so DataLoader worker processes prepare batches while the main
    process trains (batch_size=None); every worker draws its own pages (models.engine.SeededStream)."""
    return SeededStream(lambda s: batches(source, cfg, s, tcfg, fine), seed)


# ------------------------------------------------------------------------------------------ sources
def toy_source(size: tuple[int, int] = (512, 640)) -> PageSource:
    """Toy PIL pages (models.detection.toy) in a random orientation."""
    from models.detection.toy import render_toy_page

    def source(rng: np.random.Generator):
        o = int(rng.integers(4)) * 90
        return render_toy_page(rng, size[0], size[1], o)
    return source


def synth_source(split: str = "train", kinds: tuple[str, ...] | None = None, langs: tuple[str, ...] | None = None,
                 rotate: bool = True, degrade: bool = True, dpi_range: tuple[int, int] | None = (110, 200)) -> PageSource:
    """Pages of the synthetic document engine (models.synth.pages.render_page) with fonts of `split`, kinds
    and languages drawn uniformly; `dpi_range` near the predictor's scale keeps rendering cheap (None: the
    engine's own range)."""
    from models.synth import pages as synth_pages
    from models.synth.fonts import load_fonts

    fonts = load_fonts(split)
    kinds = kinds or synth_pages.PAGE_KINDS
    langs = langs or synth_pages.LANGS

    def source(rng: np.random.Generator):
        kind = kinds[int(rng.integers(len(kinds)))]
        lang = langs[int(rng.integers(len(langs)))]
        dpi = int(rng.integers(dpi_range[0], dpi_range[1] + 1)) if dpi_range else None
        return synth_pages.render_page(rng, kind=kind, lang=lang, dpi=dpi, rotate=rotate, degrade=degrade,
                                       fonts=fonts)
    return source


def write_cache(source: PageSource, directory: str | Path, count: int, max_side: int, seed: int = 0,
                start: int = 0) -> None:
    """Render `count` pages into `directory/page_XXXXXX.npz` (gray image scaled to `max_side` long side
    plus the Page as JSON); an existing file is skipped, so a killed writer resumes."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + count):
        path = directory / f"page_{i:06d}.npz"
        if path.exists():
            continue
        image, page = source(np.random.default_rng([seed, i]))
        gray, spage = scale_to_side(to_gray(image), page, max_side)
        tmp = path.with_name(path.stem + ".tmp.npz")
        np.savez_compressed(tmp, image=gray, page=np.frombuffer(json.dumps(page_to_dict(spage)).encode(), np.uint8))
        tmp.replace(path)


def load_cached(path: str | Path) -> tuple[np.ndarray, Page]:
    with np.load(path) as z:
        return z["image"], page_from_dict(json.loads(z["page"].tobytes().decode()))


class CachedPages:
    """Page source over a cache directory that may still be growing (the listing is refreshed every
    `refresh_s` seconds); waits for the first file."""

    def __init__(self, directory: str | Path, refresh_s: float = 60.0):
        self.directory = Path(directory)
        self.refresh_s = refresh_s
        self._files: list[Path] = []
        self._listed = -1e9

    def _list(self) -> list[Path]:
        if time.monotonic() - self._listed > self.refresh_s or not self._files:
            self._files = sorted(p for p in self.directory.glob("page_*.npz") if ".tmp" not in p.name)
            self._listed = time.monotonic()
        return self._files

    def __call__(self, rng: np.random.Generator) -> tuple[np.ndarray, Page]:
        while not self._list():
            time.sleep(5)
        files = self._list()
        return load_cached(files[int(rng.integers(len(files)))])
