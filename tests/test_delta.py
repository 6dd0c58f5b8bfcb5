"""Table schemas declared once (udfs/schema.py) and Delta interop both ways: written by Spark, read by
delta-rs / DuckDB / Polars; written by delta-rs, read and merged into by Spark."""
from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from jobs.tables import ensure_tables, merge_rows, read_table, spark_schema, table_path
from udfs.schema import PAGE_ROW, TABLES

pytestmark = pytest.mark.spark


def _plain(t: pa.DataType) -> pa.DataType:
    """delta-rs may hand back large/view string types; compare logical types."""
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_list(t) or pa.types.is_list_view(t) or pa.types.is_list(t):
        return pa.list_(_plain(t.value_type))
    if pa.types.is_struct(t):
        return pa.struct([(f.name, _plain(f.type)) for f in t])
    if pa.types.is_map(t):
        return pa.map_(_plain(t.key_type), _plain(t.item_type))
    return t


def test_table_specs_are_consistent():
    for spec in TABLES.values():
        assert set(spec.keys) <= set(spec.schema.names) and "run_date" in spec.schema.names
    # the detail tables carry the UDF's nested records flattened, with the same types
    for table, nested in [("words", "words"), ("lines", "lines"), ("entities", "entities"), ("fields", "fields")]:
        struct = PAGE_ROW.field(nested).type.value_type
        for f in struct:
            assert TABLES[table].schema.field(f.name).type == f.type


def test_delta_tables_have_the_declared_schema_in_spark_and_delta_rs(spark, tmp_path):
    from deltalake import DeltaTable

    ensure_tables(spark, tmp_path)
    ensure_tables(spark, tmp_path)          # idempotent
    for name, spec in TABLES.items():
        assert read_table(spark, tmp_path, name).schema == spark_schema(spec.schema), name
        dt_ = DeltaTable(table_path(tmp_path, name))
        arrow = pa.schema(dt_.schema().to_arrow())
        assert [(f.name, _plain(f.type)) for f in arrow] == [(f.name, _plain(f.type)) for f in spec.schema], name
        assert dt_.metadata().partition_columns == list(spec.partition_by)
        assert dt_.metadata().configuration.get("delta.enableChangeDataFeed") == "true"


def _error_rows(n: int, version: str) -> pa.Table:
    rows = [{"doc_id": f"d{i}", "model_version": version, "path": f"/a/{i}.pdf", "stage": "decode",
             "error_class": "CorruptPdf", "message": "m", "run_id": "r0", "run_date": dt.date(2026, 11, 1)}
            for i in range(n)]
    return pa.Table.from_pylist(rows, schema=TABLES["errors"].schema)


def test_written_by_delta_rs_read_and_merged_by_spark(spark, tmp_path):
    from deltalake import DeltaTable, write_deltalake

    path = table_path(tmp_path, "errors")
    write_deltalake(path, _error_rows(3, "1"), partition_by=["run_date"],
                    configuration={"delta.enableChangeDataFeed": "true"})
    df = read_table(spark, tmp_path, "errors")
    assert sorted(r["doc_id"] for r in df.collect()) == ["d0", "d1", "d2"]
    # Spark MERGE into the delta-rs table: 2 known keys + 1 new -> one insert
    incoming = spark.createDataFrame(_error_rows(4, "1").slice(1).to_pandas())
    merge_rows(spark, tmp_path, "errors", incoming)
    back = DeltaTable(path).to_pyarrow_table()
    assert sorted(back.column("doc_id").to_pylist()) == ["d0", "d1", "d2", "d3"]


def test_written_by_spark_read_by_delta_rs_duckdb_and_polars(spark, tmp_path):
    import duckdb
    import polars as pl
    from deltalake import DeltaTable

    ensure_tables(spark, tmp_path)
    merge_rows(spark, tmp_path, "errors", spark.createDataFrame(_error_rows(5, "2").to_pandas()))
    path = table_path(tmp_path, "errors")
    arrow = DeltaTable(path).to_pyarrow_table()
    assert arrow.num_rows == 5
    ds = DeltaTable(path).to_pyarrow_dataset()
    n = duckdb.sql("SELECT count(DISTINCT doc_id) FROM ds WHERE model_version = '2'").fetchall()[0][0]
    assert n == 5
    assert pl.read_delta(path).filter(pl.col("error_class") == "CorruptPdf").height == 5
