"""Our own pipeline behind the peer interface (`models.zoo.load_pipeline`), so it is scored like the peers."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from models.pipeline import Pipeline
from models.types import Page


class LakeOcrEngine:
    name = "lakeocr"

    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline
        self.version = ",".join(f"{k}={v}" for k, v in sorted(pipeline.versions.items())) or "unversioned"

    @classmethod
    def from_zoo(cls, weights_dir: str | Path | None = None, device: str = "cpu", **_ignored) -> "LakeOcrEngine":
        from models.zoo import load_pipeline
        kwargs = {"device": device}
        if weights_dir is not None:
            kwargs["weights_dir"] = weights_dir
        try:
            return cls(load_pipeline(**kwargs))
        except (FileNotFoundError, ModuleNotFoundError) as exc:
            raise RuntimeError(f"lakeocr pipeline cannot load: {exc}") from exc

    def ocr(self, image: np.ndarray) -> Page:
        return self.pipeline.run([image])[0]
