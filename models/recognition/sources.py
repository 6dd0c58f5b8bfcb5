"""Where training crops come from, and the batches built from them.

A *source* is `source(rng) -> (uint8 crop, text, script)`. `word_source(split)` renders with the
synthetic engine (`models.synth.crops.render_word_crop`) when it is importable, else with the fallback
renderer of models.recognition.render. A `CropPool` is a fixed, cached set of rendered crops (npz), used
where runs must see the same data (few-label ablations, evaluation sets).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from models.recognition.charset import Charset
from models.recognition.data import CropSpec, encode_targets, normalize_crop, pad_batch

Source = Callable[[np.random.Generator], tuple[np.ndarray, str, str]]
SCRIPT_MIX = {"hangul": 0.45, "latin": 0.35, "digits": 0.20}


def _pick_script(rng: np.random.Generator, mix: dict[str, float]) -> str:
    names = list(mix)
    p = np.asarray([mix[n] for n in names], np.float64)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def synth_available() -> bool:
    try:
        import models.synth.crops  # noqa: F401
        return True
    except Exception:       # not written yet, or broken mid-edit by its owner
        return False


def _case_variant(text: str, rng: np.random.Generator) -> str:
    """Receipts and forms are often in capitals: 25% UPPER, 20% Capitalised, else as sampled."""
    r = rng.random()
    return text.upper() if r < 0.25 else text[:1].upper() + text[1:] if r < 0.45 else text


RULE_CHARS = "-=_~*.#·"           # the characters documents draw separator rules with


def rule_text(rng: np.random.Generator) -> str:
    """A separator rule: one of RULE_CHARS repeated 3-60 times, for a fifth of them with a space between."""
    ch, n = RULE_CHARS[int(rng.integers(len(RULE_CHARS)))], int(rng.integers(3, 61))
    return (" " if rng.random() < 0.2 else "").join([ch] * n)


def word_source(split: str = "train", degrade: bool = True, height: int = 32, line_fraction: float = 0.15,
                engine: str = "auto", lowres_p: float = 0.0, loose_p: float = 0.0, print_p: float = 0.0,
                banner_p: float = 0.0, double_p: float = 0.0, rule_p: float = 0.0) -> Source:
    """Rendered word crops (and, with probability line_fraction, multi-word line crops) of a font split.
    `engine` = "synth" | "fallback" | "auto" (synth when importable). Latin text gets a case mix.
    `lowres_p`: the share of crops scanned at low resolution, bitonal or not (models.synth.crops.lowres_scan;
    synth engine only); `loose_p`: the share drawn with loose boxes (wide margins above and below the ink);
    `print_p`: the share printed as a receipt printer's dot bitmap (models.synth.crops.printed_render), of
    which `double_p` in its double-width mode; `banner_p`: the share reversed out of a dark or stippled
    banner (models.synth.crops.banner); `rule_p`: the share of separator rules (`rule_text`: "-----",
    "=====", "* * *", ...; synth engine only), which the shipped recognizer reads as junk where they are rare in
    training."""
    use_synth = engine == "synth" or (engine == "auto" and synth_available())
    if use_synth:
        from models.synth.content import Content
        from models.synth.crops import _pick_script as synth_script, render_text_line_crop, render_word_crop, sample_text
        from models.synth.fonts import load_fonts
        fonts = load_fonts(split)
        styles = dict(lowres_p=lowres_p, loose_p=loose_p, print_p=print_p, banner_p=banner_p, double_p=double_p)

        def source(rng):
            try:
                if rule_p and rng.random() < rule_p:
                    c = render_word_crop(rng, text=rule_text(rng), height=height, fonts=fonts, degrade=degrade,
                                         **styles)
                    return c.image, c.text, c.script
                if rng.random() < line_fraction:
                    c = render_text_line_crop(rng, height=height, fonts=fonts, degrade=degrade, words=(2, 5),
                                              **styles)
                    return c.image, c.text, c.script
                script = synth_script(rng)
                text = sample_text(Content(rng), script)
                if script == "latin":
                    text = _case_variant(text, rng)
                c = render_word_crop(rng, text=text, height=height, fonts=fonts, degrade=degrade, **styles)
            except ValueError:         # no font of the split covers this text: draw another
                return source(rng)
            return c.image, c.text, c.script
    else:
        from models.recognition.render import render_crop

        def source(rng):
            c = render_crop(rng, _pick_script(rng, SCRIPT_MIX), split=split, height=height,
                            degrade_p=0.8 if degrade else 0.0)
            return c.image, c.text, c.script
    source.engine = "synth" if use_synth else "fallback"
    return source


def mixed_source(a: Source, b: Source, p_b: float) -> Source:
    """Draw from `b` with probability p_b, else from `a`."""
    return lambda rng: b(rng) if rng.random() < p_b else a(rng)


@dataclass
class CropPool:
    """A fixed set of crops stored compactly: all crops side by side in one (H, sum w) uint8 strip."""
    strip: np.ndarray
    offsets: np.ndarray          # (N + 1,) column offsets into strip
    texts: list[str]
    scripts: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    def image(self, i: int) -> np.ndarray:
        return self.strip[:, self.offsets[i]: self.offsets[i + 1]]

    @classmethod
    def render(cls, source: Source, n: int, seed: int, height: int = 32) -> "CropPool":
        rng = np.random.default_rng(seed)
        images, texts, scripts = [], [], []
        for _ in range(n):
            img, text, script = source(rng)
            gray = normalize_to_uint8(img, height)
            images.append(gray), texts.append(text), scripts.append(script)
        offsets = np.concatenate([[0], np.cumsum([im.shape[1] for im in images])]).astype(np.int64)
        return cls(np.concatenate(images, axis=1), offsets, texts, scripts)

    def subset(self, idx: Sequence[int]) -> "CropPool":
        ims = [self.image(i) for i in idx]
        offsets = np.concatenate([[0], np.cumsum([im.shape[1] for im in ims])]).astype(np.int64)
        return CropPool(np.concatenate(ims, axis=1), offsets, [self.texts[i] for i in idx],
                        [self.scripts[i] for i in idx])

    def save(self, path: str | Path) -> None:
        np.savez_compressed(path, strip=self.strip, offsets=self.offsets,
                            texts=np.asarray(self.texts, dtype=object), scripts=np.asarray(self.scripts, dtype=object))

    @classmethod
    def load(cls, path: str | Path) -> "CropPool":
        z = np.load(path, allow_pickle=True)
        return cls(z["strip"], z["offsets"], list(z["texts"]), list(z["scripts"]))

    def as_source(self) -> Source:
        def source(rng):
            i = int(rng.integers(len(self)))
            return self.image(i), self.texts[i], self.scripts[i]
        return source


def normalize_to_uint8(img: np.ndarray, height: int) -> np.ndarray:
    """Gray uint8 at the given height (what a pool stores; polarity is left to normalize_crop)."""
    from models.recognition.data import to_gray
    import cv2
    gray = to_gray(img)
    if gray.shape[0] != height:
        w = max(1, int(round(gray.shape[1] * height / gray.shape[0])))
        gray = cv2.resize(gray, (w, height), interpolation=cv2.INTER_AREA)
    return gray


def _bucketed(items: list, widths: list[int], batch_size: int, rng: np.random.Generator) -> list[list]:
    """Group items into batches of similar width, in random batch order (less padding per step)."""
    from models.recognition.data import width_buckets
    groups = [[items[i] for i in g] for g in width_buckets(widths, batch_size) if len(g) == batch_size]
    return [groups[i] for i in rng.permutation(len(groups))]


TIGHT_MARGINS = (-0.03, 0.03)     # remargin: a tight box's left / right margin, in crop heights (< 0 cuts ink)
WIDE_MARGINS = (0.2, 0.9)         # ... a wide box's
TIGHT_SHARE = 0.4


def remargin(crop: np.ndarray, rng: np.random.Generator, max_width: int, ink: float = 0.3) -> np.ndarray:
    """A normalised crop (ink 1, paper 0) with its left and right margins drawn anew, each on its own: tight
    (TIGHT_MARGINS: GT boxes cut at the ink, or a pixel into it) for TIGHT_SHARE of the crops, else wide
    (WIDE_MARGINS: loose boxes, a word cut out of a line). A crop without ink, or one that would grow past
    `max_width`, comes back as it is."""
    cols = np.flatnonzero((crop > ink).any(0))
    if not len(cols):
        return crop
    h = crop.shape[0]
    lo, hi = TIGHT_MARGINS if rng.random() < TIGHT_SHARE else WIDE_MARGINS
    left, right = (int(round(h * m)) for m in rng.uniform(lo, hi, 2))
    a = cols[0] + max(0, -left)                 # the ink span, cut by a negative margin ...
    b = cols[-1] + 1 - max(0, -right)
    if b <= a or (b - a) + max(0, left) + max(0, right) > max_width:
        return crop
    paper = float(np.median(crop[:, [0, -1]]))  # ... padded by a positive one, in the background's tone
    return np.pad(crop[:, a:b], ((0, 0), (max(0, left), max(0, right))), constant_values=paper)


def labelled_batches(source: Source, charset: Charset, spec: CropSpec, batch_size: int, seed: int,
                     bucket_factor: int = 8, margin_p: float = 0.0) -> Iterator[dict]:
    """Endless labelled batches, width-bucketed over windows of batch_size * bucket_factor crops;
    crops whose text the charset cannot encode are skipped. `margin_p`: the share of crops whose left and
    right margins are drawn anew (`remargin`)."""
    rng = np.random.default_rng(seed)
    while True:
        items = []
        while len(items) < batch_size * bucket_factor:
            img, text, _ = source(rng)
            if text and charset.covers(text):
                crop = normalize_crop(img, spec)
                if margin_p and rng.random() < margin_p:
                    crop = remargin(crop, rng, spec.max_width)
                items.append((crop, text))
        for group in _bucketed(items, [c.shape[1] for c, _ in items], batch_size, rng):
            images, widths = pad_batch([c for c, _ in group], spec.patch_width)
            targets, target_lengths = encode_targets([t for _, t in group], charset)
            yield {"images": images, "widths": widths, "targets": targets, "target_lengths": target_lengths}


def unlabelled_batches(source: Source, spec: CropSpec, batch_size: int, seed: int,
                       bucket_factor: int = 8) -> Iterator[dict]:
    """Endless unlabelled batches (`u_images`, `u_widths`); the source's text is ignored."""
    rng = np.random.default_rng(seed)
    while True:
        crops = [normalize_crop(source(rng)[0], spec) for _ in range(batch_size * bucket_factor)]
        for group in _bucketed(crops, [c.shape[1] for c in crops], batch_size, rng):
            images, widths = pad_batch(group, spec.patch_width)
            yield {"u_images": images, "u_widths": widths}


def merged(*streams: Iterator[dict]) -> Iterator[dict]:
    """Zip batch streams into one dict per step (e.g. labelled + unlabelled for FixMatch)."""
    for parts in zip(*streams):
        out: dict = {}
        for p in parts:
            out.update(p)
        yield out
