"""RecognitionPredictor: upright word crops (numpy) -> [(text, confidence)].

It owns everything around the model: input checks, normalisation (models.recognition.data), batching by
width buckets with right padding and a key-padding mask, reduced precision, greedy CTC decoding, and an
optional reread of doubtful crops (`reread`, below).
Precision: "fp32"; "bf16" (autocast; CPU with native bf16, or CUDA); "fp16" (CUDA autocast);
"int8" (CPU dynamic quantisation of every nn.Linear); "auto" = fp16 on CUDA, bf16 on a CPU with native
bf16 support, else int8.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import torch

from models.precision import autocast, place, resolve_precision
from models.recognition.charset import Charset
from models.recognition.data import CropSpec, ink_crop, pad_batch, to_model_input, width_buckets
from models.recognition.decode import SPACE_THRESHOLD, ctc_greedy
from models.recognition.model import ColumnViTSTR, ColumnViTSTRConfig
from models.weights import WEIGHTS_DIR, load_weights


def quantize_int8(model: torch.nn.Module) -> torch.nn.Module:
    """Dynamic int8 quantisation of every nn.Linear (weights int8, activations quantised per batch)."""
    import copy
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # torch.ao.quantization deprecation notice
        return torch.ao.quantization.quantize_dynamic(copy.deepcopy(model).cpu().eval(), {torch.nn.Linear},
                                                      dtype=torch.qint8)


# Reread (test-time augmentation): a crop read with confidence below REREAD_BELOW is read again stretched
# horizontally by REREAD_SCALES in turn, until two of its readings agree (or the scales run out), and the text
# most of its readings agree on wins (ties: the larger summed confidence). Chosen on the dev pools, not on
# benchdata (docs/ARCHITECTURE.md, "Reread of doubtful crops"): the first version read every crop below 0.9 at
# all three scales (printed dot-bitmap crops 0.661 -> 0.707); stopping at the first agreement, in this order,
# and rereading below 0.7 keep most of that (0.698) with a sixth of its stretched reads on the held-out crops
# (bf16, one thread, same session: 556 -> 834-898 crops per CPU-second; plain 1,038-1,087).
REREAD_SCALES = (1.1, 1.2, 0.9)
REREAD_BELOW = 0.7


def vote(reads: Sequence[tuple[str, float]]) -> tuple[str, float]:
    """The text most reads agree on, ties broken by the larger summed confidence (then the earlier read);
    its confidence is the largest of the reads that gave it."""
    if not reads:
        raise ValueError("vote needs at least one read")
    count, total, best = Counter(), Counter(), {}
    for text, conf in reads:
        count[text] += 1
        total[text] += conf
        best[text] = max(best.get(text, 0.0), conf)
    text = max(count, key=lambda t: (count[t], total[t]))     # max keeps the first of equals: read order
    return text, best[text]


def stretch(ink: np.ndarray, scale: float, max_width: int) -> np.ndarray:
    """An ink map (models.recognition.data.ink_crop) stretched horizontally by `scale`, at most max_width."""
    w = max(1, min(max_width, int(round(ink.shape[1] * scale))))
    return ink if w == ink.shape[1] else cv2.resize(ink, (w, ink.shape[0]), interpolation=cv2.INTER_LINEAR)


def model_config_from(config: dict) -> ColumnViTSTRConfig:
    fields = ColumnViTSTRConfig.__dataclass_fields__
    return ColumnViTSTRConfig(**{k: v for k, v in config["architecture"].items() if k in fields})


class RecognitionPredictor:
    def __init__(self, model: ColumnViTSTR, charset: Charset, spec: CropSpec | None = None, device: str = "cpu",
                 precision: str = "auto", batch_size: int | None = None, version: str = "unversioned",
                 crop_pad: float = 0.0, space_threshold: float | None = SPACE_THRESHOLD,
                 reread: Sequence[float] = (), reread_below: float = REREAD_BELOW, confusables: bool = True):
        self.device = torch.device(device)
        if batch_size is None:      # crops per forward pass: on one CPU core 32 read 953 crops/s in bf16,
            batch_size = 32 if self.device.type == "cpu" else 256     # 128 only 765 (cache); GPUs want more
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.precision = resolve_precision(precision, self.device, cpu_fallback="int8")
        self.charset, self.batch_size, self.version = charset, batch_size, version
        self.space_threshold = space_threshold     # for recognize(lines=True): decode.ctc_greedy
        self.crop_pad = float(crop_pad)     # margin around a word quad the model was trained on (Pipeline)
        self.confusables = confusables      # 0/o, 1/l read by their neighbours (models.recognition.confusables)
        self.set_reread(reread, reread_below)
        self.spec = spec or CropSpec(height=model.cfg.height, patch_width=model.cfg.patch_width,
                                     max_width=model.cfg.max_tokens * model.cfg.patch_width)
        self.model = quantize_int8(model) if self.precision == "int8" else place(model, self.precision, self.device)

    @classmethod
    def from_weights(cls, name: str = "recognizer", weights_dir: str | Path = WEIGHTS_DIR, device: str = "cpu",
                     precision: str = "auto", batch_size: int | None = None) -> "RecognitionPredictor":
        state, config = load_weights(name, weights_dir)
        model = ColumnViTSTR(model_config_from(config))
        model.load_state_dict(state)
        spec = CropSpec(**{k: config["input"][k] for k in ("height", "patch_width", "max_width")})
        return cls(model, Charset(config["charset"]), spec, device, precision, batch_size,
                   version=config["sha256"][:12], crop_pad=config["input"].get("crop_pad", 0.0))

    def recognize(self, crops: Sequence[np.ndarray], lines: bool = False) -> list[tuple[str, float]]:
        """(text, confidence in [0, 1]) per crop, in input order. Raises ValueError on a non-uint8 or
        malformed crop (see models.recognition.data.to_gray). `lines`: crops of text lines or regions
        (several words): decoded with `space_threshold` (models.recognition.decode.ctc_greedy); word crops
        are decoded by the argmax alone, where a rescued space split words (GT word boxes of synth_ko:
        bag-of-words F1 0.848 -> 0.827). With `confusables` (the default) a `0` / `1` read inside a word and an
        `o` / `l` inside a number are read by their neighbours (models.recognition.confusables)."""
        if isinstance(crops, np.ndarray):
            raise ValueError("pass a sequence of crops, not one array")
        norm = [ink_crop(c, self.spec) for c in crops]
        out = self._read(norm, lines)
        pending = [i for i, (_, conf) in enumerate(out) if conf < self.reread_below] if self.reread else []
        reads = {i: [out[i]] for i in pending}
        for scale in self.reread:                  # in turn, until two readings of a crop agree
            if not pending:
                break
            again = self._read([stretch(norm[i], scale, self.spec.max_width) for i in pending], lines)
            for i, read in zip(pending, again):
                reads[i].append(read)
            pending = [i for i in pending if len({t for t, _ in reads[i]}) == len(reads[i])]
        for i, rs in reads.items():
            out[i] = vote(rs)
        return out

    def set_reread(self, scales: Sequence[float] = REREAD_SCALES, below: float = REREAD_BELOW) -> None:
        """Read crops whose confidence is below `below` again at the horizontal scales of `scales`, in turn,
        until two readings of a crop agree, and keep the text most of its readings agree on (`vote`);
        `scales=()` turns it off (the default: speed)."""
        scales = tuple(float(s) for s in scales)
        if any(not 0.25 <= s <= 4.0 for s in scales) or not 0.0 <= below <= 1.0:
            raise ValueError(f"reread scales must lie in [0.25, 4] and the threshold in [0, 1], got {scales}, {below}")
        self.reread, self.reread_below = scales, float(below)

    def _read(self, norm: list[np.ndarray], lines: bool) -> list[tuple[str, float]]:
        """Greedy reads of ink maps (ink_crop), in input order."""
        out: list[tuple[str, float] | None] = [None] * len(norm)
        dev = torch.device("cpu") if self.precision == "int8" else self.device
        with torch.inference_mode(), autocast(self.precision, self.device):
            for idx in width_buckets([c.shape[1] for c in norm], self.batch_size):
                images, widths = pad_batch([norm[i] for i in idx], self.spec.patch_width)
                logits, lengths = self.model(to_model_input(images, dev), widths.to(dev))
                for i, res in zip(idx, ctc_greedy(logits, lengths, self.charset, self.space_threshold if lines
                                                  else None, self.confusables)):
                    out[i] = res
        return out
