"""Shared fixtures for the job tests: a deterministic test-double pipeline, tiny rendered documents, and
one session-scoped local Spark session with Delta (local[2], few shuffle partitions, UI off).

The double stands in for `models.zoo.load_pipeline` wherever a test is about the job, not the models: it
"reads" each page deterministically from its pixels (dark rows -> words), so reruns give identical rows.
It is pickled by value so that Spark's Python workers (local or standalone) do not need to import tests/.
"""
from __future__ import annotations

import io
import os
import sys
from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image, ImageDraw

from models.types import Entity, Line, Page, Word
from udfs.ocr import ModelRef

FAIL_MARK = (255, 0, 255)     # a page whose top-left pixel is this colour makes the double raise


class FakePipeline:
    """`run(images) -> list[Page]`: one word per band of dark rows, text = f"band{i}-{ink}", an ORG entity
    `ACME` on every page and a receipt field `total` = the page's ink count as an amount."""

    def __init__(self, version: str = "1"):
        self.versions = {"detector": f"det{version}", "recognizer": f"rec{version}"}
        self.calls = 0

    def run(self, images):
        self.calls += 1
        return [self._page(np.asarray(img)) for img in images]

    def _page(self, img: np.ndarray) -> Page:
        if tuple(img[0, 0, :3]) == FAIL_MARK:
            raise RuntimeError("the double refuses magenta pages")
        h, w = img.shape[:2]
        dark = (img.mean(axis=2) < 128).any(axis=1)
        words, y = [], 0
        while y < h:
            if dark[y]:
                y1 = y
                while y1 < h and dark[y1]:
                    y1 += 1
                ink = int((img[y:y1].mean(axis=2) < 128).sum())
                quad = np.array([[0, y], [w - 1, y], [w - 1, y1], [0, y1]], dtype=np.float32)
                words.append(Word(quad=quad, text=f"band{len(words)}-{ink}", conf=0.9, script="latin",
                                  line_id=len(words)))
                y = y1
            y += 1
        lines = [Line(quad=wd.quad, word_ids=[i], text=wd.text) for i, wd in enumerate(words)]
        ink = int((img.mean(axis=2) < 128).sum())
        return Page(width=w, height=h, words=words, lines=lines,
                    entities=[Entity(label="ORG", text="ACME", word_ids=[0] if words else [], value="ACME")],
                    fields={"total": f"{ink}.00"}, template_id="receipt")


@dataclass(frozen=True)
class FakeSource:
    """A pipeline source (udfs.ocr.PipelineSource) that builds the double for `ref.version`."""
    ref: ModelRef

    def load(self, device: str, precision: str = "auto") -> FakePipeline:
        return FakePipeline(self.ref.version)


class _FlakyPipeline(FakePipeline):
    """The double, failing every page while a marker file exists (a transient fault: OOM, lost GPU)."""

    def __init__(self, version: str, marker: str):
        super().__init__(version)
        self.marker = marker

    def run(self, images):
        if os.path.exists(self.marker):
            raise RuntimeError("CUDA out of memory (transient)")
        return super().run(images)


@dataclass(frozen=True)
class FlakySource(FakeSource):
    marker: str = ""

    def load(self, device: str, precision: str = "auto") -> FakePipeline:
        return _FlakyPipeline(self.ref.version, self.marker)


def fake_ref(version: str = "1") -> ModelRef:
    p = FakePipeline(version)
    return ModelRef("lakeocr-pipeline", version, tuple(sorted(p.versions.items())))


def render_doc(seed: int, n_bands: int = 3, size=(120, 90)) -> Image.Image:
    """A tiny page with `n_bands` black bars at seeded heights (milliseconds)."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    for i in range(n_bands):
        y = 10 + i * 25 + int(rng.integers(0, 8))
        draw.rectangle([5, y, 5 + int(rng.integers(20, 100)), y + int(rng.integers(2, 8))], fill="black")
    return img


def encode(img: Image.Image, fmt: str, extra: list[Image.Image] | None = None) -> bytes:
    buf = io.BytesIO()
    if extra:
        img.save(buf, fmt, save_all=True, append_images=extra)
    else:
        img.save(buf, fmt)
    return buf.getvalue()


def write_archive(folder, n_good: int = 4, seed: int = 0, broken: bool = True) -> dict[str, int]:
    """A handful of documents (PNG, JPEG, 2-page TIFF, PDF, ...) + two broken files; returns path -> pages
    expected (0 = broken)."""
    folder.mkdir(parents=True, exist_ok=True)
    fmts = [("png", "PNG", 1), ("jpg", "JPEG", 1), ("tif", "TIFF", 2), ("pdf", "PDF", 2), ("bmp", "BMP", 1),
            ("webp", "WEBP", 1)]
    expected = {}
    for i in range(n_good):
        ext, fmt, pages = fmts[i % len(fmts)]
        first = render_doc(seed * 100 + i)
        extra = [render_doc(seed * 100 + i + 50) for _ in range(pages - 1)]
        path = folder / f"doc{seed}_{i:02d}.{ext}"
        path.write_bytes(encode(first, fmt, extra))
        expected[str(path)] = pages
    if broken:
        (folder / "zero.png").write_bytes(b"")
        expected[str(folder / "zero.png")] = 0
        (folder / "truncated.pdf").write_bytes(encode(render_doc(999), "PDF")[:200])
        expected[str(folder / "truncated.pdf")] = 0
    return expected


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """CI and dev boxes have 2 shared cores: oversubscribed BLAS threads make model tests 10x slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """One local[2] session with Delta for every Spark test (starting one costs ~15 s)."""
    pytest.importorskip("pyspark")
    from pyspark import cloudpickle

    from jobs.spark import SparkSettings, build_session

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    os.environ["PYSPARK_PYTHON"] = sys.executable
    warehouse = tmp_path_factory.mktemp("warehouse")
    session = build_session(SparkSettings(
        master="local[2]", app_name="lakeocr-tests", shuffle_partitions=2, docs_per_arrow_batch=4,
        extra=(("spark.sql.warehouse.dir", str(warehouse)),
               ("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse}"))))
    yield session
    session.stop()
