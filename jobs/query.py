"""`lakeocr query "SQL"`: SQL over the lake's tables by their names (documents, pages, words, lines,
entities, fields, errors, runs).

Engines: `duckdb` (default; delta-rs reads each table's current snapshot as Arrow and DuckDB runs the SQL
in-process: instant, no JVM) and `spark` (Spark SQL over the same Delta tables: the engine for big scans and
for the time-travel / change-feed syntax). Both see identical rows.
"""
from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

from udfs.schema import TABLES

DEFAULT_LAKE = os.environ.get("LAKEOCR_LAKE", str(Path(__file__).resolve().parent.parent / "lake"))


def tables_in(sql: str) -> list[str]:
    """The lake tables a statement mentions (word match), so only those are opened."""
    return [name for name in TABLES if re.search(rf"\b{name}\b", sql, flags=re.IGNORECASE)]


def query_duckdb(sql: str, lake: str | Path = DEFAULT_LAKE):
    """Run `sql` with DuckDB over delta-rs snapshots; returns a pandas DataFrame."""
    import duckdb
    from deltalake import DeltaTable

    con = duckdb.connect()
    for name in tables_in(sql):
        path = Path(lake) / name
        if not (path / "_delta_log").is_dir():
            raise FileNotFoundError(f"table {name} not found at {path} (run `lakeocr nightly` first)")
        con.register(name, DeltaTable(str(path)).to_pyarrow_dataset())
    return con.sql(sql).df()


def query_spark(sql: str, lake: str | Path = DEFAULT_LAKE, spark=None):
    """Run `sql` with Spark SQL over temp views of the Delta tables; returns a pandas DataFrame."""
    from jobs.spark import SparkSettings, build_session
    from jobs.tables import register_views

    spark = spark or build_session(SparkSettings(master="local[2]"))
    register_views(spark, lake)
    return spark.sql(sql).toPandas()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sql", help="a SQL statement over documents, pages, words, lines, entities, fields, "
                                    "errors, runs")
    parser.add_argument("--lake", default=DEFAULT_LAKE, help="root folder of the Delta tables")
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb")
    parser.add_argument("--max-rows", type=int, default=50)


def format_frame(df, max_rows: int = 50) -> str:
    """A result as a text table: floats written out (amounts read 4107425461 and 6493.44, never
    4.107425e+09), at most `max_rows` rows and a line saying how many there were."""
    import numpy as np
    import pandas as pd

    if not len(df):
        return "(no rows)"
    with pd.option_context("display.max_columns", 20, "display.width", 160, "display.max_colwidth", 60):
        text = df.head(max_rows).to_string(
            index=False, float_format=lambda v: np.format_float_positional(v, precision=4, trim="-"))
    return text + (f"\n... {len(df)} rows, {max_rows} shown" if len(df) > max_rows else "")


def run(args) -> int:
    df = query_duckdb(args.sql, args.lake) if args.engine == "duckdb" else query_spark(args.sql, args.lake)
    print(format_frame(df, args.max_rows))
    return 0
