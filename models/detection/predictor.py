"""DetectionPredictor: numpy pages in, typed `Page`s out (doctr-style predictor).

It owns the pre- and post-processing: input checks, gray conversion, resizing so that the long side is
`max_side`, padding to the network's multiple (white), batching, `torch.inference_mode`, decoding
(models.detection.decode), the up/down vote of the flip classifier (models.detection.flip, when shipped),
un-padding and scaling every quad back to the original page's pixels, and the network's precision
(models.precision: "auto" = fp16 on CUDA, bf16 with channels-last memory on a CPU with native bf16 —
2.7x faster there, same held-out H-mean — else fp32).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import torch

from models.detection.data import to_gray, transform_page
from models.detection.decode import DecodeConfig, decode_maps, group_lines
from models.detection.flip import FlipClassifier, FlipConfig, flip_word, page_flip_logit
from models.detection.model import FINE_STRIDE, Detector, DetectorConfig, fused_for_inference
from models.precision import autocast, channels_last, place, resolve_precision
from models.types import Page
from models.weights import WEIGHTS_DIR, load_weights

FLIP_PREFIX = "flip."
MAX_PIXELS = 100_000_000      # larger inputs are refused (decompression bombs, wrong arrays)


@dataclass(frozen=True)
class PredictorConfig:
    max_side: int = 1600          # pages are resized so that their long side is this many pixels
    batch_size: int = 4

    def to_dict(self) -> dict:
        return asdict(self)


def _page_maps(out: dict[str, torch.Tensor], k: int, shape: tuple[int, int], stride: int) -> dict[str, torch.Tensor]:
    """Batch item k's head maps cut to its own image's cells (the fine_* maps and the stem at FINE_STRIDE), on
    the CPU; the fine head's features stay on the network's device."""
    maps = {}
    for name, v in out.items():
        s = FINE_STRIDE if name.startswith("fine_") or name == "stem" else stride
        cut = v[k, :, :-(-shape[0] // s), :-(-shape[1] // s)]
        maps[name] = cut if name in ("stem", "tower") else cut.cpu()      # features stay where the fine head is
    return maps


def check_image(image: np.ndarray, index: int = 0) -> None:
    """Raise ValueError unless `image` is a non-empty HxW or HxWx3 uint8 array of reasonable size."""
    if not isinstance(image, np.ndarray):
        raise ValueError(f"image {index}: expected a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ValueError(f"image {index}: expected dtype uint8, got {image.dtype}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f"image {index}: expected HxW gray or HxWx3 RGB, got shape {image.shape}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"image {index}: empty image of shape {image.shape}")
    if image.shape[0] * image.shape[1] > MAX_PIXELS:
        raise ValueError(f"image {index}: {image.shape[1]}x{image.shape[0]} exceeds {MAX_PIXELS} pixels")


class DetectionPredictor:
    def __init__(self, model: Detector, config: PredictorConfig = PredictorConfig(),
                 decode: DecodeConfig = DecodeConfig(), device: str = "cpu", version: str = "untrained",
                 flip_model: FlipClassifier | None = None, precision: str = "auto", fuse: bool = False):
        """`model` stays as given (training, `state_dict`); `fuse` runs a copy with BatchNorm folded into the
        convolutions instead (for a predictor that only infers: `from_weights`)."""
        self.device = torch.device(device)
        self.precision = resolve_precision(precision, self.device, allowed=("auto", "fp32", "bf16", "fp16"))
        self.model = model.to(device).eval()
        self.net = place(fused_for_inference(self.model) if fuse else self.model, self.precision, self.device)
        self.fine_head = self.net.fine          # the decoder runs it on the features the network returns
        self.flip_model = flip_model.eval() if flip_model is not None else None
        self.config = config
        self.decode_config = decode
        self.version = version

    @classmethod
    def from_weights(cls, name: str = "detector", weights_dir: str | Path = WEIGHTS_DIR,
                     device: str = "cpu", precision: str = "auto") -> "DetectionPredictor":
        """Build from `<weights_dir>/<name>.pt` + `.json` (see models.weights and jobs/train_detector.py)."""
        state, config = load_weights(name, weights_dir)
        model = Detector(DetectorConfig.from_dict(config["architecture"]))
        model.load_state_dict({k: v for k, v in state.items() if not k.startswith(FLIP_PREFIX)})
        flip = None
        if "flip" in config:
            flip = FlipClassifier(FlipConfig.from_dict(config["flip"]))
            flip.load_state_dict({k[len(FLIP_PREFIX):]: v for k, v in state.items() if k.startswith(FLIP_PREFIX)})
        decode = DecodeConfig(**config.get("decode", {}))
        pcfg = PredictorConfig(**config.get("predictor", {}))
        return cls(model, pcfg, decode, device, version=str(config.get("sha256", "untrained"))[:12], flip_model=flip,
                   precision=precision, fuse=True)

    def state_dict(self) -> dict:
        """Detector weights plus the flip classifier's under `flip.` (one shipped file)."""
        state = dict(self.model.state_dict())
        if self.flip_model is not None:
            state.update({FLIP_PREFIX + k: v for k, v in self.flip_model.state_dict().items()})
        return state

    def config_dict(self) -> dict:
        """What travels next to the weights: architecture, normalisation, predictor and decode settings."""
        out = {"architecture": self.model.cfg.to_dict(), "predictor": self.config.to_dict(),
               "decode": self.decode_config.to_dict(),
               "normalisation": {"gray": True, "mean": self.model.cfg.mean, "std": self.model.cfg.std}}
        if self.flip_model is not None:
            out["flip"] = self.flip_model.cfg.to_dict()
        return out

    def _prepare(self, image: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
        """Gray page resized so that its long side is max_side; returns (array, (sx, sy))."""
        gray = to_gray(image)
        h, w = gray.shape
        s = self.config.max_side / max(h, w)
        nw, nh = max(1, round(w * s)), max(1, round(h * s))
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
        return cv2.resize(gray, (nw, nh), interpolation=interp), (nw / w, nh / h)

    def _batch_tensor(self, arrays: list[np.ndarray]) -> torch.Tensor:
        m = self.model.cfg.pad_multiple
        H = -(-max(a.shape[0] for a in arrays) // m) * m
        W = -(-max(a.shape[1] for a in arrays) // m) * m
        batch = np.full((len(arrays), 1, H, W), 255, np.uint8)
        for i, a in enumerate(arrays):
            batch[i, 0, :a.shape[0], :a.shape[1]] = a
        if self.device.type == "cpu":       # one table lookup instead of three passes over the page
            lut = ((np.arange(256) / 255.0 - self.model.cfg.mean) / self.model.cfg.std).astype(np.float32)
            x = torch.from_numpy(lut[batch])
        else:
            x = torch.from_numpy(batch).to(self.device).float().div_(255.0)
            x = (x - self.model.cfg.mean) / self.model.cfg.std
        return x.contiguous(memory_format=torch.channels_last) if channels_last(self.precision, self.device) else x

    def _settle_direction(self, gray: np.ndarray, page: Page) -> None:
        """Turn the page (and its words on the page's reading axis) by 180 degrees when the flip
        classifier's mean vote over its words says they are upside down; lines are regrouped."""
        if page_flip_logit(self.flip_model, gray, page) <= 0:
            return
        axis = page.orientation % 180
        page.words = [flip_word(w) if w.orientation % 180 == axis else w for w in page.words]
        page.orientation = (page.orientation + 180) % 360
        group_lines(page, self.decode_config)

    def detect(self, images: Sequence[np.ndarray]) -> list[Page]:
        """Detect characters, words, lines and orientation on each page (HxW gray or HxWx3 RGB uint8).
        Quads are in pixels of the given images; text stays empty."""
        if isinstance(images, np.ndarray):
            raise ValueError("detect takes a sequence of images; wrap a single page in a list")
        for i, image in enumerate(images):
            check_image(image, i)
        pages: list[Page] = []
        bs = max(1, self.config.batch_size)
        stride = self.model.cfg.stride
        with torch.inference_mode():
            for start in range(0, len(images), bs):
                chunk = images[start:start + bs]
                prepared = [self._prepare(im) for im in chunk]
                with autocast(self.precision, self.device):
                    out = self.net(self._batch_tensor([a for a, _ in prepared]))
                for k, (image, (arr, (sx, sy))) in enumerate(zip(chunk, prepared)):
                    maps = _page_maps(out, k, arr.shape[:2], stride)
                    page = decode_maps(maps, stride, (arr.shape[1], arr.shape[0]), self.decode_config,
                                       fine_head=self.fine_head)
                    if self.flip_model is not None:
                        self._settle_direction(arr, page)
                    scaled = transform_page(page, (1 / sx, 1 / sy), size=(image.shape[1], image.shape[0]))
                    pages.append(scaled)
        return pages
