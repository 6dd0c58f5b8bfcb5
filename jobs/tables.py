"""The lake: Delta tables declared in udfs/schema.py (TABLES), created here and written with MERGE.

Layout: `<lake>/<table>/`, partitioned by `run_date` (nightly appends land in one partition; queries by date
prune), change data feed on (`delta.enableChangeDataFeed`), so downstream jobs read what changed with
`readChangeFeed`. Every write is `MERGE INTO t USING s ON <natural key> WHEN NOT MATCHED THEN INSERT *`:
re-running a crashed or finished night inserts nothing twice. Each commit carries the run id and model
versions in `userMetadata` (DESCRIBE HISTORY / delta-rs `history()` show it).
"""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from udfs.schema import TABLES, TableSpec

TABLE_PROPERTIES = {
    "delta.enableChangeDataFeed": "true",
}
_USER_METADATA = "spark.databricks.delta.commitInfo.userMetadata"


def table_path(lake: str | Path, name: str) -> str:
    if name not in TABLES:
        raise ValueError(f"unknown table {name!r}; tables are {', '.join(TABLES)}")
    if "://" in str(lake) or str(lake).startswith(("dbfs:", "file:")):
        return f"{str(lake).rstrip('/')}/{name}"
    return str(Path(lake).resolve() / name)       # Delta wants absolute local paths ("lake/x" reads as a name)


def spark_schema(schema: pa.Schema):
    """The Spark StructType of an Arrow schema (one declaration serves Spark, delta-rs and DuckDB)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def ensure_table(spark, lake: str | Path, spec: TableSpec) -> None:
    from delta.tables import DeltaTable

    builder = (DeltaTable.createIfNotExists(spark).location(table_path(lake, spec.name))
               .addColumns(spark_schema(spec.schema)).partitionedBy(*spec.partition_by))
    for key, value in TABLE_PROPERTIES.items():
        builder = builder.property(key, value)
    builder.execute()


def ensure_tables(spark, lake: str | Path, threads: int = 4) -> None:
    """Create every table that does not exist yet (idempotent; independent tables are created concurrently)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="create") as pool:
        for future in [pool.submit(ensure_table, spark, lake, spec) for spec in TABLES.values()]:
            future.result()


def commit_metadata(spark, metadata: dict | None) -> None:
    """Stamp the following Delta commits of this session with `metadata` (None clears it)."""
    if metadata is None:
        spark.conf.unset(_USER_METADATA)
    else:
        spark.conf.set(_USER_METADATA, json.dumps(metadata, sort_keys=True))


def conform(df, spec: TableSpec):
    """`df` with exactly the table's columns, in order, cast to its types; a missing column is an error."""
    from pyspark.sql import functions as F

    target = spark_schema(spec.schema)
    missing = [f.name for f in target.fields if f.name not in df.columns]
    if missing:
        raise ValueError(f"rows for table {spec.name} lack columns {missing}")
    return df.select([F.col(f.name).cast(f.dataType).alias(f.name) for f in target.fields])


def merge_rows(spark, lake: str | Path, name: str, df, update_if: str | None = None) -> None:
    """MERGE `df` into table `name` on its natural key, inserting only the keys the table lacks; with
    `update_if` (a condition on the target row `t` and source row `s`) matched rows meeting it are replaced."""
    from delta.tables import DeltaTable

    spec = TABLES[name]
    cond = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in spec.keys)
    merge = DeltaTable.forPath(spark, table_path(lake, name)).alias("t").merge(conform(df, spec).alias("s"), cond)
    if update_if is not None:
        merge = merge.whenMatchedUpdateAll(condition=update_if)
    merge.whenNotMatchedInsertAll().execute()


def append_rows(spark, lake: str | Path, name: str, df) -> None:
    """Blind append, for rows whose key is new by construction (a run's own `runs` row)."""
    conform(df, TABLES[name]).write.format("delta").mode("append").save(table_path(lake, name))


def read_table(spark, lake: str | Path, name: str):
    return spark.read.format("delta").load(table_path(lake, name))


def register_views(spark, lake: str | Path) -> list[str]:
    """Temp views named like the tables (for Spark SQL); returns the names registered."""
    from delta.tables import DeltaTable

    names = []
    for name in TABLES:
        if DeltaTable.isDeltaTable(spark, table_path(lake, name)):
            read_table(spark, lake, name).createOrReplaceTempView(name)
            names.append(name)
    return names
