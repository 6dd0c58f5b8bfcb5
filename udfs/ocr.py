"""The OCR UDF: document rows in, page rows out (`udfs.schema.PAGE_ROW`).

`ocr_frame(docs, pipeline, ref, config)` is a plain pandas function (no Spark): every input row (path,
content bytes) gives one output row per page, or exactly one error row when the document cannot be decoded
or read; the batch never fails because of one bad document.

`ocr_partitions(source, config)` is the iterator form for `DataFrame.mapInPandas`: it loads the pipeline once
per Python worker through `cached_pipeline` and maps every Arrow batch through `ocr_frame`. The cache keys
the *whole* pipeline by its resolved versions (registered name + version + component versions), so a worker
never mixes stages of two versions and eviction drops a pipeline as a unit.

A pipeline *source* is any picklable object with `ref: ModelRef` and `load(device, precision) -> Pipeline` (jobs/ builds
one from the MLflow registry; tests pass a small deterministic double).
"""
from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Protocol

import numpy as np
import pandas as pd

from models.types import Page
from udfs.decode import DecodeError, DecodeLimits, decode_document
from udfs.device import pick_device
from udfs.schema import PAGE_ROW


@dataclass(frozen=True)
class ModelRef:
    """A concrete pipeline version (resolved on the driver; never an alias on executors)."""
    name: str
    version: str
    component_versions: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.name or not str(self.version):
            raise ValueError(f"a ModelRef needs a name and a concrete version, got {self.name!r}/{self.version!r}")
        if str(self.version).lower() in ("latest", "champion"):
            raise ValueError(f"resolve {self.version!r} to a concrete version on the driver first")

    @property
    def key(self) -> tuple:
        return (self.name, str(self.version), self.component_versions)


class PipelineSource(Protocol):
    ref: ModelRef

    def load(self, device: str, precision: str = "auto"): ...


@dataclass(frozen=True)
class OcrConfig:
    limits: DecodeLimits = field(default_factory=DecodeLimits)
    batch_pages: int = 8            # pages per pipeline.run call (raise it to fill a GPU)
    device: str = "auto"            # auto | cpu | cuda | cuda:N
    precision: str = "auto"         # every predictor's precision: auto | fp32 | bf16 | fp16 | int8 (models.precision)
    torch_threads: int = 1          # per Python worker; Spark runs one worker per task slot
    reread: bool = False            # recognizers read doubtful crops again (RecognitionPredictor.set_reread)

    def __post_init__(self) -> None:
        if self.batch_pages < 1 or self.torch_threads < 1:
            raise ValueError(f"batch_pages and torch_threads must be >= 1, got {self}")
        from models.precision import PRECISIONS
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")


# ---------------------------------------------------------------- the per-worker pipeline cache
_CACHE: OrderedDict[tuple, object] = OrderedDict()
MAX_CACHED_PIPELINES = 2


def cached_pipeline(source: PipelineSource, config: OcrConfig):
    """The pipeline for `source.ref` on this worker, loaded at most once per (versions, device)."""
    import torch

    device = pick_device(config.device)
    key = (source.ref.key, device, config.precision, config.reread)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    torch.set_num_threads(config.torch_threads)
    pipeline = table_pipeline(source.load(device, config.precision))
    if config.reread:
        pipeline.set_reread()
    _CACHE[key] = pipeline
    while len(_CACHE) > MAX_CACHED_PIPELINES:
        _CACHE.popitem(last=False)
    return pipeline


def table_pipeline(pipeline):
    """`pipeline` set up for the tables' rows, which keep no characters (page_columns): their refit to the
    ink (models.charfit, about 70 ms of CPU a page) is skipped."""
    if hasattr(pipeline, "fit_chars"):
        pipeline.fit_chars = False
    return pipeline


def clear_cache() -> None:
    _CACHE.clear()


# ---------------------------------------------------------------- page -> row
def _quad(q) -> list[float]:
    return [float(v) for v in np.asarray(q, dtype=np.float32).reshape(-1)]


def _opt_int(v) -> int | None:
    return None if v is None else int(v)


def field_values(value: str) -> tuple[str | None, float | None]:
    """(normalised value, number) of a template field's text: ISO date, or amount with its currency."""
    from models.postocr.normalize import normalize_date, parse_amount

    date = normalize_date(value)
    if date is not None:
        return date, None
    amount = parse_amount(value)
    if amount is not None:
        number, currency = amount
        return (f"{number} {currency}" if currency else str(number)), float(number)
    return None, None


def page_columns(page: Page) -> dict:
    """The OCR part of a PAGE_ROW (words, lines, entities, fields, text) from a typed Page."""
    words = [{"word_id": i, "text": w.text, "conf": float(w.conf), "script": w.script,
              "orientation": int(w.orientation), "quad": _quad(w.quad), "line_id": _opt_int(w.line_id),
              "block_id": _opt_int(w.block_id)} for i, w in enumerate(page.words)]
    lines = [{"line_id": i, "text": ln.text, "quad": _quad(ln.quad), "block_id": _opt_int(ln.block_id),
              "word_ids": [int(j) for j in ln.word_ids]} for i, ln in enumerate(page.lines)]
    entities = [{"entity_id": i, "label": e.label, "text": e.text, "value": e.value, "valid": e.valid,
                 "word_ids": [int(j) for j in e.word_ids]} for i, e in enumerate(page.entities)]
    fields = []
    for name, value in sorted(page.fields.items()):
        norm, number = field_values(str(value))
        fields.append({"field_name": name, "value": str(value), "value_norm": norm, "value_num": number})
    text = "\n".join(ln.text for ln in page.lines) if page.lines else " ".join(w.text for w in page.words)
    return {"width": int(page.width), "height": int(page.height), "orientation": int(page.orientation),
            "text": text, "template_id": page.template_id, "words": words, "lines": lines,
            "entities": entities, "fields": fields}


_EMPTY_OCR = {"width": None, "height": None, "orientation": None, "text": None, "template_id": None,
              "words": [], "lines": [], "entities": [], "fields": []}


# ---------------------------------------------------------------- the pandas function
@dataclass
class _Doc:
    doc_id: str
    path: str
    size: int
    pages: list[np.ndarray] = field(default_factory=list)
    results: list[Page] = field(default_factory=list)
    decode_ms: float = 0.0
    ocr_ms: float = 0.0
    error: tuple[str, str, str] | None = None      # (stage, error_class, message)


def _decode(row, config: OcrConfig) -> _Doc:
    content = bytes(row.content) if row.content is not None else b""
    doc_id = getattr(row, "doc_id", None) or hashlib.sha256(content).hexdigest()
    doc = _Doc(doc_id=doc_id, path=str(row.path), size=len(content))
    t0 = time.perf_counter()
    try:
        doc.pages = decode_document(content, config.limits)
    except DecodeError as exc:
        doc.error = ("decode", exc.error_class, str(exc))
    doc.decode_ms = (time.perf_counter() - t0) * 1000
    return doc


def _run_docs(docs: list[_Doc], pipeline, config: OcrConfig) -> None:
    """Run the pipeline over all pages of `docs` in batches of `config.batch_pages`; on a failing batch
    retry document by document so that only the documents that fail become error rows."""
    todo = [(d, p) for d in docs for p in d.pages]
    for start in range(0, len(todo), config.batch_pages):
        chunk = todo[start:start + config.batch_pages]
        t0 = time.perf_counter()
        try:
            pages = pipeline.run([img for _d, img in chunk])
            if len(pages) != len(chunk):
                raise RuntimeError(f"pipeline returned {len(pages)} pages for {len(chunk)} images")
        except Exception:          # noqa: BLE001 - isolate the culprit below, then record it
            _run_one_by_one(chunk, pipeline)
            continue
        per_page = (time.perf_counter() - t0) * 1000 / len(chunk)
        for (doc, _img), page in zip(chunk, pages):
            doc.results.append(page)
            doc.ocr_ms += per_page


def _run_one_by_one(chunk, pipeline) -> None:
    for doc, img in chunk:
        if doc.error is not None:
            continue
        t0 = time.perf_counter()
        try:
            doc.results.extend(pipeline.run([img]))
        except Exception as exc:   # noqa: BLE001 - one bad document must not fail the batch
            doc.error = ("ocr", type(exc).__name__, f"pipeline failed: {exc}"[:2000])
        doc.ocr_ms += (time.perf_counter() - t0) * 1000


def _doc_rows(doc: _Doc, ref: ModelRef) -> list[dict]:
    base = {"doc_id": doc.doc_id, "path": doc.path, "size_bytes": doc.size, "model_name": ref.name,
            "model_version": str(ref.version), "component_versions": dict(ref.component_versions),
            "decode_ms": doc.decode_ms, "ocr_ms": doc.ocr_ms}
    if doc.error is not None:
        stage, cls, msg = doc.error
        return [{**base, "n_pages": len(doc.pages), "page": 0, **_EMPTY_OCR,
                 "error_stage": stage, "error_class": cls, "error_message": msg}]
    return [{**base, "n_pages": len(doc.results), "page": i, **page_columns(page),
             "error_stage": None, "error_class": None, "error_message": None}
            for i, page in enumerate(doc.results, start=1)]


def empty_frame() -> pd.DataFrame:
    return PAGE_ROW.empty_table().to_pandas()


def ocr_frame(docs: pd.DataFrame, pipeline, ref: ModelRef, config: OcrConfig = OcrConfig()) -> pd.DataFrame:
    """Documents (columns `path`, `content`, optional `doc_id`) -> PAGE_ROW rows, in input order.

    `component_versions` is a dict per row (Arrow and Spark read it as a map).
    """
    missing = {"path", "content"} - set(docs.columns)
    if missing:
        raise ValueError(f"ocr_frame needs columns path and content; missing {sorted(missing)}")
    decoded = [_decode(row, config) for row in docs.itertuples(index=False)]
    _run_docs([d for d in decoded if d.error is None], pipeline, config)
    rows = [r for d in decoded for r in _doc_rows(d, ref)]
    if not rows:
        return empty_frame()
    return pd.DataFrame(rows, columns=PAGE_ROW.names)


def ocr_partitions(source: PipelineSource, config: OcrConfig = OcrConfig(),
                   on_batch: Callable[[pd.DataFrame], None] | None = None
                   ) -> Callable[[Iterable[pd.DataFrame]], Iterator[pd.DataFrame]]:
    """The function for `df.mapInPandas(fn, schema)`: one pipeline per worker, one output frame per batch."""

    def run(batches: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        pipeline = cached_pipeline(source, config)
        for batch in batches:
            out = ocr_frame(batch, pipeline, source.ref, config)
            if on_batch is not None:
                on_batch(out)
            yield out

    return run
