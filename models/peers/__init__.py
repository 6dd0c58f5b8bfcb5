"""Peer OCR engines behind one small interface, so `lakeocr evaluate` scores them with the same code.

An engine has `name`, `version` (str) and `ocr(image) -> Page` (image: HxWx3 uint8 RGB or HxW gray, as udfs/decode.py produces, the
page in the coordinate frame of models.types). Builders by name live in `ENGINES`; each import is deferred,
so a missing optional peer (Tesseract binary, rapidocr wheel) only fails when it is asked for.
"""
from __future__ import annotations

from typing import Callable, Protocol

import numpy as np

from models.types import Page


class OcrEngine(Protocol):
    name: str
    version: str

    def ocr(self, image: np.ndarray) -> Page: ...


def _tesseract(**kw) -> OcrEngine:
    from models.peers.tesseract import TesseractEngine
    return TesseractEngine(**kw)


def _rapidocr(**kw) -> OcrEngine:
    from models.peers.rapid import RapidOcrEngine
    return RapidOcrEngine(**kw)


def _lakeocr(**kw) -> OcrEngine:
    from models.peers.lakeocr import LakeOcrEngine
    return LakeOcrEngine.from_zoo(**kw)


ENGINES: dict[str, Callable[..., OcrEngine]] = {
    "lakeocr": _lakeocr,
    "tesseract": _tesseract,
    "rapidocr": _rapidocr,
}


def build_engine(name: str, **kwargs) -> OcrEngine:
    """Engine by name; raises ValueError for an unknown name, RuntimeError when a peer is not installed."""
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; choose from {', '.join(ENGINES)}")
    return ENGINES[name](**kwargs)
