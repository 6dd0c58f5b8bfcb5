"""RapidOCR as a peer: PP-OCRv4 det + rec ONNX models shipped inside the `rapidocr-onnxruntime` wheel
(no download at run time). Optional: `pip install -e .[peers]` (see docs/EVALUATION.md for the opencv note).

RapidOCR returns text lines; with `return_word_box=True` it also returns one box per recognised character
(spaces included), which are grouped here into words at the spaces. The rec model is Chinese + English,
so it reads no Hangul.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.geometry import order_quad, quad_angle, union_quad
from models.types import Line, Page, Word, as_quad


@dataclass(frozen=True)
class RapidOcrConfig:
    threads: int = 1
    text_score: float = 0.5


def _words_of_line(line_quad: np.ndarray, text: str, score: float, char_boxes, chars) -> list[Word]:
    """Split one RapidOCR line into words at spaces, each word the rotated box of its character boxes."""
    if not char_boxes or not chars or len(char_boxes) != len(chars):
        return [Word(quad=line_quad, text=t, conf=score) for t in ([text.strip()] if text.strip() else [])]
    angle = quad_angle(line_quad)
    words, cur_boxes, cur_text = [], [], []
    for box, ch in list(zip(char_boxes, chars)) + [(None, " ")]:
        if ch.isspace():
            if cur_text:
                words.append(Word(quad=union_quad(cur_boxes, angle), text="".join(cur_text), conf=score))
            cur_boxes, cur_text = [], []
            continue
        cur_boxes.append(np.asarray(box, np.float32))
        cur_text.append(ch)
    return words


def result_to_page(result, width: int, height: int) -> Page:
    """RapidOCR's `(box, text, score[, char_boxes, chars, char_scores])` list -> Page with words and lines."""
    page = Page(width=width, height=height)
    for item in result or []:
        line_quad = order_quad(as_quad(item[0]))
        text, score = str(item[1]), float(item[2])
        char_boxes, chars = (item[3], item[4]) if len(item) >= 5 else (None, None)
        words = _words_of_line(line_quad, text, score, char_boxes, chars)
        if not words:
            continue
        lid = len(page.lines)
        first = len(page.words)
        for w in words:
            w.line_id = lid
        page.words.extend(words)
        page.lines.append(Line(quad=line_quad, word_ids=list(range(first, len(page.words))),
                               text=" ".join(w.text for w in words)))
    return page


class RapidOcrEngine:
    name = "rapidocr"

    def __init__(self, config: RapidOcrConfig = RapidOcrConfig(), **overrides):
        self.config = RapidOcrConfig(**{**config.__dict__, **overrides})
        try:
            import rapidocr_onnxruntime
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:
            raise RuntimeError("rapidocr not installed: `pip install -e .[peers]`") from exc
        from importlib.metadata import version
        self.version = f"rapidocr-onnxruntime {version('rapidocr-onnxruntime')} PP-OCRv4"
        self._engine = RapidOCR(intra_op_num_threads=self.config.threads, inter_op_num_threads=1,
                                text_score=self.config.text_score)
        del rapidocr_onnxruntime

    def ocr(self, image: np.ndarray) -> Page:
        if image.ndim == 2:
            image = np.repeat(image[:, :, None], 3, axis=2)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an HxW or HxWx3 image, got shape {image.shape}")
        bgr = np.ascontiguousarray(image[:, :, ::-1])      # RapidOCR works in OpenCV's BGR order
        result, _ = self._engine(bgr, return_word_box=True)
        h, w = image.shape[:2]
        return result_to_page(result, w, h)
