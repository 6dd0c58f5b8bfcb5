"""Script-identifier data and training step (models.engine does the loop).

Classes follow models.types.SCRIPTS. Crops: the synthetic engine's words for hangul / latin / digits and
punctuation-only "other"; foreign-script words (Han, kana, Cyrillic, Greek; models.recognition.render)
are "other" too. Font splits as everywhere: train fonts for training, eval fonts for the held-out check.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from models.recognition.data import CropSpec, normalize_crop, pad_batch
from models.recognition.eval_sets import script_source
from models.recognition.render import render_crop
from models.types import SCRIPTS

# share of each kind of crop in a training batch ("foreign" = other scripts, labelled "other")
MIX = {"hangul": 0.3, "latin": 0.25, "digits": 0.2, "other": 0.1, "foreign": 0.15}


def sampler(split: str = "train", engine: str = "auto"):
    """sample(rng) -> (uint8 crop, script label)."""
    sources = {s: script_source(split, s, engine) for s in SCRIPTS}
    kinds = list(MIX)
    p = np.asarray([MIX[k] for k in kinds])

    def sample(rng: np.random.Generator) -> tuple[np.ndarray, str]:
        kind = kinds[int(rng.choice(len(kinds), p=p / p.sum()))]
        if kind == "foreign":
            return render_crop(rng, "other", split=split).image, "other"
        img, _text, script = sources[kind](rng)
        return img, script
    return sample


def batches(sample, spec: CropSpec, batch_size: int, seed: int) -> Iterator[dict]:
    rng = np.random.default_rng(seed)
    index = {s: i for i, s in enumerate(SCRIPTS)}
    while True:
        items = [sample(rng) for _ in range(batch_size)]
        images, widths = pad_batch([normalize_crop(im, spec) for im, _ in items], spec.patch_width)
        yield {"images": images, "widths": widths, "labels": torch.tensor([index[s] for _, s in items])}


def script_step(model, batch: dict) -> dict[str, torch.Tensor]:
    return {"ce": F.cross_entropy(model(batch["images"], batch["widths"]), batch["labels"])}


def held_out(n_per_class: int, seed: int = 777, engine: str = "auto") -> tuple[list[np.ndarray], list[str]]:
    """Balanced eval-font crops: n_per_class of each script (other = half punctuation, half foreign)."""
    rng = np.random.default_rng(seed)
    sources = {s: script_source("eval", s, engine) for s in SCRIPTS}
    crops, labels = [], []
    for s in SCRIPTS:
        for i in range(n_per_class):
            if s == "other" and i % 2:
                crops.append(render_crop(rng, "other", split="eval").image)
            else:
                crops.append(sources[s](rng)[0])
            labels.append(s)
    return crops, labels


def confusion(pred: list[str], true: list[str]) -> np.ndarray:
    """(n, n) counts, rows = true script, columns = predicted, in SCRIPTS order."""
    idx = {s: i for i, s in enumerate(SCRIPTS)}
    m = np.zeros((len(SCRIPTS), len(SCRIPTS)), np.int64)
    for p, t in zip(pred, true):
        m[idx[t], idx[p]] += 1
    return m
