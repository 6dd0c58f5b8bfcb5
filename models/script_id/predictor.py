"""ScriptPredictor: upright word crops -> [(script, confidence)], script in models.types.SCRIPTS.

"other" means a script the recognizers do not read (or punctuation only): such words are flagged, not
guessed. Crops are normalised as for the recognizer (models.recognition.data), batched by width. Precision as
in models/precision.py: "auto" = fp16 on CUDA, bf16 with channels-last on a CPU with native bf16 (4x the
fp32 speed on one core, the same class for all 900 held-out crops tried), else fp32.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from models.precision import autocast, place, resolve_precision
from models.recognition.data import CropSpec, ink_crop, pad_batch, to_model_input, width_buckets
from models.script_id.model import ScriptCNN, ScriptCNNConfig
from models.weights import WEIGHTS_DIR, load_weights


class ScriptPredictor:
    def __init__(self, model: ScriptCNN, device: str = "cpu", batch_size: int | None = None,
                 version: str = "unversioned", crop_pad: float = 0.0, precision: str = "auto"):
        self.device = torch.device(device)
        if batch_size is None:      # one CPU core: 64 crops per pass read 4,095 crops/s in bf16, 256 only 2,716
            batch_size = 64 if self.device.type == "cpu" else 256
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.precision = resolve_precision(precision, self.device, allowed=("auto", "fp32", "bf16", "fp16"))
        self.model = place(model, self.precision, self.device)
        self.batch_size, self.version = batch_size, version
        self.crop_pad = float(crop_pad)     # margin around a word quad the model was trained on (Pipeline)
        self.spec = CropSpec(height=model.cfg.height, patch_width=model.stride, max_width=model.cfg.max_width)

    @classmethod
    def from_weights(cls, name: str = "script_id", weights_dir: str | Path = WEIGHTS_DIR, device: str = "cpu",
                     batch_size: int | None = None, precision: str = "auto") -> "ScriptPredictor":
        state, config = load_weights(name, weights_dir)
        arch = config["architecture"]
        cfg = ScriptCNNConfig(classes=tuple(arch["classes"]), height=arch["height"], widths=tuple(arch["widths"]),
                              max_width=arch["max_width"])
        model = ScriptCNN(cfg)
        model.load_state_dict(state)
        return cls(model, device, batch_size, version=config["sha256"][:12],
                   crop_pad=config.get("input", {}).get("crop_pad", 0.0), precision=precision)

    def probabilities(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """(N, n_classes) softmax probabilities in input order; ValueError on a malformed crop."""
        if isinstance(crops, np.ndarray):
            raise ValueError("pass a sequence of crops, not one array")
        norm = [ink_crop(c, self.spec) for c in crops]
        out = np.zeros((len(norm), len(self.model.cfg.classes)), np.float32)
        with torch.inference_mode(), autocast(self.precision, self.device):
            for idx in width_buckets([c.shape[1] for c in norm], self.batch_size):
                images, widths = pad_batch([norm[i] for i in idx], self.spec.patch_width)
                out[idx] = self.model(to_model_input(images, self.device), widths.to(self.device)).float().softmax(-1).cpu().numpy()
        return out

    def classify(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        probs = self.probabilities(crops)
        classes = self.model.cfg.classes
        return [(classes[int(k)], float(p[k])) for p, k in zip(probs, probs.argmax(1))]
