"""Tesseract 5 as a peer: the `tesseract` binary through a subprocess, TSV output parsed into a Page.

Not a Python dependency: install the binary and language data with
`apt-get install tesseract-ocr tesseract-ocr-kor` (eng ships with tesseract-ocr).
The page goes to tesseract as PNG bytes on stdin; `OMP_THREAD_LIMIT` pins its thread count.
"""
from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from dataclasses import dataclass

import cv2
import numpy as np

from models.geometry import box_to_quad
from models.types import Line, Page, Word

WORD_LEVEL, LINE_LEVEL = 5, 4


@dataclass(frozen=True)
class TesseractConfig:
    lang: str = "eng"            # "eng" or "kor+eng"
    psm: int = 3                 # tesseract's default: fully automatic page segmentation
    threads: int = 1             # OMP_THREAD_LIMIT
    timeout_s: float = 300.0
    binary: str = "tesseract"


def parse_tsv(tsv: str, width: int, height: int) -> Page:
    """Tesseract TSV -> Page: level-5 rows become words (conf 0..1), level-4 rows lines with word ids."""
    rows = list(csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE))
    words: list[Word] = []
    lines: list[Line] = []
    line_index: dict[tuple[int, int, int, int], int] = {}
    for r in rows:
        try:
            level = int(r["level"])
            key = (int(r["page_num"]), int(r["block_num"]), int(r["par_num"]), int(r["line_num"]))
            x, y, w, h = (int(r[k]) for k in ("left", "top", "width", "height"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not tesseract TSV: row {r!r}: {exc}") from exc
        quad = box_to_quad(x, y, x + w, y + h)
        if level == LINE_LEVEL:
            line_index[key] = len(lines)
            lines.append(Line(quad=quad, word_ids=[]))
        elif level == WORD_LEVEL:
            text = (r.get("text") or "").strip()
            if not text:
                continue
            lid = line_index.get(key)
            words.append(Word(quad=quad, text=text, conf=max(0.0, float(r["conf"])) / 100.0, line_id=lid))
            if lid is not None:
                lines[lid].word_ids.append(len(words) - 1)
    kept = [ln for ln in lines if ln.word_ids]
    remap = {id(ln): i for i, ln in enumerate(kept)}
    for i, ln in enumerate(lines):
        for wi in ln.word_ids:
            words[wi].line_id = remap.get(id(ln))
    for ln in kept:
        ln.text = " ".join(words[i].text for i in ln.word_ids)
    return Page(width=width, height=height, words=words, lines=kept)


class TesseractEngine:
    name = "tesseract"

    def __init__(self, config: TesseractConfig = TesseractConfig(), **overrides):
        self.config = TesseractConfig(**{**config.__dict__, **overrides})
        if shutil.which(self.config.binary) is None:
            raise RuntimeError("tesseract not found: `apt-get install tesseract-ocr tesseract-ocr-kor`")
        out = subprocess.run([self.config.binary, "--version"], capture_output=True, text=True, check=True)
        first = (out.stdout or out.stderr).splitlines()[0]
        self.version = f"{first.split()[-1]} {self.config.lang} psm{self.config.psm}"

    def ocr(self, image: np.ndarray) -> Page:
        if image.ndim not in (2, 3):
            raise ValueError(f"expected an HxW or HxWx3 image, got shape {image.shape}")
        bgr = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        ok, png = cv2.imencode(".png", bgr)
        if not ok:
            raise ValueError("could not encode the image as PNG")
        env = dict(os.environ, OMP_THREAD_LIMIT=str(self.config.threads))
        cmd = [self.config.binary, "stdin", "stdout", "-l", self.config.lang, "--psm", str(self.config.psm), "tsv"]
        out = subprocess.run(cmd, input=png.tobytes(), capture_output=True, env=env,
                             timeout=self.config.timeout_s)
        if out.returncode != 0:
            raise RuntimeError(f"tesseract failed ({out.returncode}): {out.stderr.decode(errors='replace')[-500:]}")
        h, w = image.shape[:2]
        return parse_tsv(out.stdout.decode("utf-8", errors="replace"), w, h)
