"""RecognitionPredictor: upright word crops (numpy) -> [(text, confidence)].

It owns everything around the model: input checks, normalisation (models.recognition.data), batching by
width buckets with right padding and a key-padding mask, reduced precision, greedy CTC decoding.
Precision: "fp32"; "bf16" (autocast; CPU with native bf16, or CUDA); "fp16" (CUDA autocast);
"int8" (CPU dynamic quantisation of every nn.Linear); "auto" = fp16 on CUDA, bf16 on a CPU with native
bf16 support, else int8.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

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


def model_config_from(config: dict) -> ColumnViTSTRConfig:
    fields = ColumnViTSTRConfig.__dataclass_fields__
    return ColumnViTSTRConfig(**{k: v for k, v in config["architecture"].items() if k in fields})


class RecognitionPredictor:
    def __init__(self, model: ColumnViTSTR, charset: Charset, spec: CropSpec | None = None, device: str = "cpu",
                 precision: str = "auto", batch_size: int | None = None, version: str = "unversioned",
                 crop_pad: float = 0.0, space_threshold: float | None = SPACE_THRESHOLD):
        self.device = torch.device(device)
        if batch_size is None:      # crops per forward pass: on one CPU core 32 read 953 crops/s in bf16,
            batch_size = 32 if self.device.type == "cpu" else 256     # 128 only 765 (cache); GPUs want more
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.precision = resolve_precision(precision, self.device, cpu_fallback="int8")
        self.charset, self.batch_size, self.version = charset, batch_size, version
        self.space_threshold = space_threshold     # for recognize(lines=True): decode.ctc_greedy
        self.crop_pad = float(crop_pad)     # margin around a word quad the model was trained on (Pipeline)
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
        bag-of-words F1 0.848 -> 0.827)."""
        if isinstance(crops, np.ndarray):
            raise ValueError("pass a sequence of crops, not one array")
        norm = [ink_crop(c, self.spec) for c in crops]
        out: list[tuple[str, float] | None] = [None] * len(norm)
        dev = torch.device("cpu") if self.precision == "int8" else self.device
        with torch.inference_mode(), autocast(self.precision, self.device):
            for idx in width_buckets([c.shape[1] for c in norm], self.batch_size):
                images, widths = pad_batch([norm[i] for i in idx], self.spec.patch_width)
                logits, lengths = self.model(to_model_input(images, dev), widths.to(dev))
                for i, res in zip(idx, ctc_greedy(logits, lengths, self.charset,
                                                           self.space_threshold if lines else None)):
                    out[i] = res
        return out
