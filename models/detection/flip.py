"""Up or upside down: a tiny classifier on rectified word crops that settles the reading direction along
the axis the detector found (0 vs 180, 90 vs 270 degrees).

The detector's orientation head tells horizontal from vertical text reliably but learns the up/down
asymmetry of glyphs slowly; a word crop rectified by its quad (models.geometry.crop_quad: TL at the top
left) is upright when the quad's corner order is right and upside down when it is off by 180 degrees, which
a small CNN learns in minutes. The predictor averages the logits of a page's words and flips the page (and
every word on its axis) when the vote says "upside down".
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from models.geometry import crop_quad
from models.types import Char, Page, Word


@dataclass(frozen=True)
class FlipConfig:
    height: int = 32
    width: int = 128              # crops are resized to `height`, then cut / padded (white) to `width`
    widths: tuple[int, ...] = (16, 32, 64, 64)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "FlipConfig":
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()
                      if k in cls.__dataclass_fields__})


class FlipClassifier(nn.Module):
    """(N, 1, height, width) normalised crops -> (N,) logits of 'upside down'."""

    def __init__(self, cfg: FlipConfig = FlipConfig()):
        super().__init__()
        self.cfg = cfg
        layers, cin = [], 1
        for c in cfg.widths:
            layers += [nn.Conv2d(cin, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
            cin = c
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(cin, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))[:, 0]


def word_crop(gray: np.ndarray, quad: np.ndarray, cfg: FlipConfig) -> np.ndarray:
    """Rectified crop of a word (reading direction left to right) as float32 (height, width) in [-1, 1]."""
    crop = crop_quad(gray, quad, height=cfg.height)
    if crop.shape[1] > cfg.width:        # long words: the middle part is enough
        x0 = (crop.shape[1] - cfg.width) // 2
        crop = crop[:, x0:x0 + cfg.width]
    out = np.full((cfg.height, cfg.width), 255, np.uint8)
    out[:, :crop.shape[1]] = crop
    return out.astype(np.float32) / 127.5 - 1.0


def flip_loss(model: FlipClassifier, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """BCE of the 'upside down' logit (engine step_fn)."""
    return {"flip_bce": F.binary_cross_entropy_with_logits(model(batch["crop"]), batch["flipped"])}


def flip_batches(source, batch_size: int, cfg: FlipConfig, seed: int = 0, words_per_page: int = 16):
    """Endless batches of GT word crops from a page source, half of them turned by 180 degrees (label 1),
    quads jittered by a few percent of their height (detector boxes are not exact)."""
    rng = np.random.default_rng(seed)
    crops, labels = [], []
    while True:
        image, page = source(rng)
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        words = [w for w in page.words if len(w.chars) >= 2]
        for i in rng.permutation(len(words))[:words_per_page]:
            q = np.asarray(words[i].quad, np.float32)
            h = float(np.hypot(*(q[3] - q[0])))
            q = q + rng.normal(0, 0.06 * h, q.shape).astype(np.float32)
            flipped = rng.random() < 0.5
            crop = word_crop(gray, q[[2, 3, 0, 1]] if flipped else q, cfg)
            crops.append(crop[None])
            labels.append(float(flipped))
            if len(crops) == batch_size:
                yield {"crop": torch.from_numpy(np.stack(crops)), "flipped": torch.tensor(labels)}
                crops, labels = [], []


def flip_word(word: Word) -> Word:
    """The same word read in the opposite direction: orientation + 180, corners and characters reversed."""
    chars = [Char(c.text, np.asarray(c.quad)[[2, 3, 0, 1]], c.score) for c in reversed(word.chars)]
    return Word(quad=np.asarray(word.quad)[[2, 3, 0, 1]], text=word.text, conf=word.conf, script=word.script,
                orientation=(word.orientation + 180) % 360, chars=chars, line_id=word.line_id,
                block_id=word.block_id, label=word.label)


def page_flip_logit(model: FlipClassifier, gray: np.ndarray, page: Page, max_words: int = 64) -> float:
    """Mean 'upside down' logit over the page's longest words on the page's reading axis (0 when none)."""
    axis = page.orientation % 180
    words = sorted((w for w in page.words if w.orientation % 180 == axis and len(w.chars) >= 2),
                   key=lambda w: -len(w.chars))[:max_words]
    if not words:
        return 0.0
    x = torch.from_numpy(np.stack([word_crop(gray, w.quad, model.cfg)[None] for w in words]))
    return float(model(x).mean())
