"""The Spark session, built once at the entry point: a local run and a cluster run differ only by these
settings (master, resources, extra confs), never by branches in the job.

Delta comes from the jars fetched into `.cache/jars` (jobs/delta_jars.py) so the session starts offline.
On a cluster that already has Delta (Databricks, a Spark image with delta-spark on its classpath) pass
`delta_jars=False`.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class SparkSettings:
    master: str | None = "local[2]"          # None = whatever spark-submit / the cluster says
    app_name: str = "lakeocr"
    shuffle_partitions: int = 4
    docs_per_arrow_batch: int = 8            # rows per Arrow batch into the UDF (documents, not pages)
    driver_memory: str = "2g"
    delta_jars: bool = True
    ui: bool = False
    log_level: str = "ERROR"
    extra: tuple[tuple[str, str], ...] = field(default_factory=tuple)   # any other spark.* conf

    def __post_init__(self) -> None:
        if self.shuffle_partitions < 1 or self.docs_per_arrow_batch < 1:
            raise ValueError(f"shuffle_partitions and docs_per_arrow_batch must be >= 1, got {self}")

    def confs(self) -> dict[str, str]:
        """Every spark.* setting the session gets (printed by `lakeocr nightly --show-conf`)."""
        conf = {
            "spark.app.name": self.app_name,
            "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
            "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
            "spark.sql.shuffle.partitions": str(self.shuffle_partitions),
            "spark.default.parallelism": str(self.shuffle_partitions),
            "spark.sql.execution.arrow.maxRecordsPerBatch": str(self.docs_per_arrow_batch),
            "spark.sql.execution.arrow.pyspark.enabled": "true",
            "spark.python.worker.reuse": "true",
            "spark.ui.enabled": str(self.ui).lower(),
            "spark.ui.showConsoleProgress": "false",
            "spark.databricks.delta.snapshotPartitions": str(self.shuffle_partitions),
            "spark.driver.memory": self.driver_memory,
            "spark.pyspark.python": os.environ.get("PYSPARK_PYTHON", sys.executable),
            "spark.pyspark.driver.python": sys.executable,
            "spark.executorEnv.PYTHONPATH": _pythonpath(),
            "spark.databricks.delta.properties.defaults.enableChangeDataFeed": "true",
            # MERGE sources are persisted, deterministic DataFrames: no need to materialise them again
            "spark.databricks.delta.merge.materializeSource": "none",
            "spark.sql.session.timeZone": "UTC",
        }
        if self.master:
            conf["spark.master"] = self.master
        if self.delta_jars:
            from jobs.delta_jars import spark_jars
            conf["spark.jars"] = ",".join(spark_jars())
        conf.update(dict(self.extra))
        return conf


def _pythonpath() -> str:
    """The repo root in front of the inherited PYTHONPATH, so executors import models/udfs/jobs even
    before the project is pip-installed (a cluster ships a wheel instead; see docs/CLUSTER.md)."""
    parts = [str(REPO_ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return os.pathsep.join(dict.fromkeys(parts))


def build_session(settings: SparkSettings = SparkSettings()):
    """A SparkSession with Delta; reuses the active one when it exists (tests share one per session)."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ["PYTHONPATH"] = _pythonpath()     # local-mode Python workers inherit the driver's env
    builder = SparkSession.builder
    for key, value in settings.confs().items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(settings.log_level)
    return spark
