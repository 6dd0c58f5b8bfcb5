"""Every row shape of the nightly job, declared once as Arrow schemas.

- `PAGE_ROW`: what the OCR UDF returns, one row per page (or one error row per bad document).
- `TABLES`: the Delta tables (files, documents, pages, words, lines, entities, fields, errors, runs) with
  their natural keys and partition column. `files` maps every path ever seen to its content's doc_id (two
  copies of one scan are read once, under one doc_id, and both paths stay findable). Spark gets its
  StructTypes from these (jobs/tables.py converts), delta-rs and DuckDB read the same Arrow types, so
  "schema equality" is checked against one source of truth.

Conventions: `page` is 1-based; `quad` is 8 floats x0, y0, x1, y1, x2, y2, x3, y3 in absolute pixels of the
decoded page, clockwise from the text's top-left (models/types.py); word/line/entity ids are indices in the
page's lists; `model_version` is the registered pipeline version the row was made by, and
`component_versions` maps stage -> weights version (first 12 hex digits of the weights' sha256).
"""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

STR, I32, I64, F32, F64, BOOL = pa.string(), pa.int32(), pa.int64(), pa.float32(), pa.float64(), pa.bool_()
QUAD = pa.list_(F32)
IDS = pa.list_(I32)
VERSIONS = pa.map_(STR, STR)
TS = pa.timestamp("us", tz="UTC")

WORD = pa.struct([("word_id", I32), ("text", STR), ("conf", F32), ("script", STR), ("orientation", I32),
                  ("quad", QUAD), ("line_id", I32), ("block_id", I32)])
LINE = pa.struct([("line_id", I32), ("text", STR), ("quad", QUAD), ("block_id", I32), ("word_ids", IDS)])
ENTITY = pa.struct([("entity_id", I32), ("label", STR), ("text", STR), ("value", STR), ("valid", BOOL),
                    ("word_ids", IDS)])
FIELD = pa.struct([("field_name", STR), ("value", STR), ("value_norm", STR), ("value_num", F64)])

# The UDF's output. error_* are null on a good page; an error row has page = 0 and no words.
PAGE_ROW = pa.schema([
    ("doc_id", STR), ("path", STR), ("size_bytes", I64), ("n_pages", I32), ("page", I32),
    ("width", I32), ("height", I32), ("orientation", I32), ("text", STR), ("template_id", STR),
    ("words", pa.list_(WORD)), ("lines", pa.list_(LINE)), ("entities", pa.list_(ENTITY)),
    ("fields", pa.list_(FIELD)),
    ("model_name", STR), ("model_version", STR), ("component_versions", VERSIONS),
    ("decode_ms", F64), ("ocr_ms", F64),
    ("error_stage", STR), ("error_class", STR), ("error_message", STR),
])

_RUN = [("run_id", STR), ("run_date", pa.date32())]
_DOC_KEY = [("doc_id", STR), ("model_version", STR)]


@dataclass(frozen=True)
class TableSpec:
    """A Delta table: its Arrow schema, natural key (MERGE condition) and partition column."""
    name: str
    schema: pa.Schema
    keys: tuple[str, ...]
    partition_by: tuple[str, ...] = ("run_date",)

    def __post_init__(self) -> None:
        missing = [c for c in self.keys + self.partition_by if c not in self.schema.names]
        if missing:
            raise ValueError(f"table {self.name}: key/partition columns {missing} not in its schema")


def _table(name: str, columns: list, keys: tuple[str, ...]) -> TableSpec:
    return TableSpec(name, pa.schema(columns), keys)


TABLES: dict[str, TableSpec] = {t.name: t for t in (
    _table("files", [("path", STR), ("doc_id", STR), ("size_bytes", I64), ("run_id", STR), ("run_date", pa.date32())],
           ("path", "doc_id")),
    _table("documents", _DOC_KEY + [
        ("path", STR), ("size_bytes", I64), ("n_pages", I32), ("status", STR), ("error_class", STR),
        ("model_name", STR), ("component_versions", VERSIONS), ("decode_ms", F64), ("ocr_ms", F64),
        ("processed_at", TS)] + _RUN, ("doc_id", "model_version")),
    _table("pages", _DOC_KEY + [
        ("page", I32), ("width", I32), ("height", I32), ("orientation", I32), ("n_words", I32),
        ("text", STR), ("template_id", STR)] + _RUN, ("doc_id", "model_version", "page")),
    _table("words", _DOC_KEY + [("page", I32)] + [(f.name, f.type) for f in WORD] + _RUN,
           ("doc_id", "model_version", "page", "word_id")),
    _table("lines", _DOC_KEY + [("page", I32)] + [(f.name, f.type) for f in LINE] + _RUN,
           ("doc_id", "model_version", "page", "line_id")),
    _table("entities", _DOC_KEY + [("page", I32)] + [(f.name, f.type) for f in ENTITY] + _RUN,
           ("doc_id", "model_version", "page", "entity_id")),
    _table("fields", _DOC_KEY + [("page", I32), ("template_id", STR)] + [(f.name, f.type) for f in FIELD] + _RUN,
           ("doc_id", "model_version", "page", "field_name")),
    _table("errors", _DOC_KEY + [
        ("path", STR), ("stage", STR), ("error_class", STR), ("message", STR)] + _RUN,
        ("doc_id", "model_version", "stage")),
    _table("runs", [
        ("run_id", STR), ("run_date", pa.date32()), ("started_at", TS), ("finished_at", TS), ("status", STR),
        ("source", STR), ("model_name", STR), ("model_version", STR), ("component_versions", VERSIONS),
        ("mlflow_run_id", STR), ("n_seen", I64), ("n_skipped", I64), ("n_docs", I64), ("n_pages", I64),
        ("n_errors", I64), ("duration_s", F64), ("ocr_s", F64), ("pages_per_s", F64)], ("run_id",)),
)}
