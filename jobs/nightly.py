"""The nightly digitization job: archive files -> OCR pages -> Delta tables.

    binaryFile(source)  -> doc_id = sha256(content)
    mark what documents has for (doc_id, model_version), keep the content of the rest; localCheckpoint
      (one read of the archive serves both the `files` rows and the work)
    incremental: only what this version has not done, repartitioned by doc_id, one row per distinct content
    mapInPandas(udfs.ocr.ocr_partitions)                 one pipeline per Python worker, one row per page
    localCheckpoint (the OCR runs once), then MERGE into pages, words, lines, entities, fields, errors,
    and documents last; then every listed path -> doc_id into `files`
    runs row: one per run, at the end ('ok', or 'failed' when the job raised)

`documents` is written last and is what the incremental filter reads, so a crash before it leaves nothing
half-done that a rerun would skip; the other tables' MERGEs on natural keys make the rerun insert nothing
twice. Re-running the same night is a no-op (zero documents to do, no new `files` row, one new `runs` row
says so).
"""
from __future__ import annotations

import datetime as dt
import fnmatch
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Callable

from udfs.ocr import OcrConfig, PipelineSource, ocr_partitions
from udfs.schema import PAGE_ROW

# table -> how its rows come out of the persisted page rows (documents last: it marks a document done)
WRITE_ORDER = ("pages", "words", "lines", "entities", "fields", "errors", "documents")


@dataclass(frozen=True)
class NightlyConfig:
    source: str                              # folder or object-store prefix of documents
    lake: str                                # root of the Delta tables
    run_date: dt.date | None = None          # partition of this run's rows (default: today, UTC)
    path_glob: str = "*"                     # binaryFile pathGlobFilter
    tasks: int = 0                           # UDF partitions (0 = 2 x default parallelism)
    ocr: OcrConfig = field(default_factory=OcrConfig)
    progress_every_s: float = 5.0            # 0 = no progress line
    write_threads: int = 3                   # concurrent table MERGEs (each has its own Delta log)
    retry_errors: bool = False               # read again the documents this version failed on

    def __post_init__(self) -> None:
        if not self.source or not self.lake:
            raise ValueError("NightlyConfig needs a source and a lake")
        if self.tasks < 0 or self.progress_every_s < 0:
            raise ValueError(f"tasks and progress_every_s must be >= 0, got {self}")


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    run_date: dt.date
    model_name: str
    model_version: str
    n_seen: int
    n_skipped: int
    n_docs: int
    n_pages: int
    n_errors: int
    duration_s: float
    ocr_s: float
    n_udf_docs: int = 0       # documents the UDF processed (accumulator): n_docs unless the OCR ran twice

    @property
    def pages_per_s(self) -> float:
        return self.n_pages / self.ocr_s if self.ocr_s > 0 else 0.0

    def line(self) -> str:
        return (f"[nightly] run {self.run_id}: model {self.model_name} v{self.model_version} | "
                f"{self.n_seen} files seen, {self.n_skipped} already done, {self.n_docs} processed "
                f"({self.n_pages} pages, {self.n_errors} errors) | {self.duration_s:.1f} s total, "
                f"{self.pages_per_s:.2f} pages/s in OCR")


class Progress:
    """Driver-side progress line from accumulators that the UDF bumps per Arrow batch (`total` = files seen;
    the ones already done are skipped before the UDF, so the count stops below it on incremental nights)."""

    def __init__(self, spark, total_docs: int, every_s: float, log: Callable[[str], None]):
        sc = spark.sparkContext
        self.docs, self.pages, self.errors = sc.accumulator(0), sc.accumulator(0), sc.accumulator(0)
        self.total, self.every_s, self.log = total_docs, every_s, log
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.t0 = time.perf_counter()

    def on_batch(self):
        docs, pages, errors = self.docs, self.pages, self.errors   # accumulators travel, not self

        def bump(out) -> None:
            err = out["error_stage"].notna()
            docs.add(int(out["doc_id"].nunique()))
            pages.add(int((~err).sum()))
            errors.add(int(err.sum()))
        return bump

    def line(self) -> str:
        dt_s = time.perf_counter() - self.t0
        return (f"[nightly] {self.docs.value} documents OCRed (of {self.total} files), {self.pages.value} pages, "
                f"{self.errors.value} errors | {self.pages.value / dt_s if dt_s else 0:.2f} pages/s")

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self.log(self.line())

    def __enter__(self):
        if self.every_s > 0:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()


def new_run_id(run_date: dt.date) -> str:
    return f"{run_date:%Y%m%d}-{uuid.uuid4().hex[:8]}"


def list_files(spark, source: str, path_glob: str = "*") -> dict[str, int]:
    """path -> size of every file under `source` (recursively) whose name matches `path_glob`, listed on the
    driver through Hadoop's FileSystem (object stores work the same). Cheap: no file is opened."""
    jvm = spark.sparkContext._jvm
    root = jvm.org.apache.hadoop.fs.Path(source)
    fs = root.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    found, it = {}, fs.listFiles(root, True)
    while it.hasNext():
        status = it.next()
        if fnmatch.fnmatch(status.getPath().getName(), path_glob):
            found[status.getPath().toString()] = int(status.getLen())
    return found


def list_documents(spark, source: str, path_glob: str = "*", empty: list[str] = ()):
    """(path, length, content, doc_id) of every file under `source` (recursively). Spark's file sources skip
    zero-byte files, so those (`empty`, from `list_files`) are added back: each must become an error row."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import BinaryType, LongType, StringType, StructField, StructType

    files = (spark.read.format("binaryFile").option("recursiveFileLookup", "true")
             .option("pathGlobFilter", path_glob).load(source).select("path", "length", "content"))
    if empty:
        schema = StructType([StructField("path", StringType()), StructField("length", LongType()),
                             StructField("content", BinaryType())])
        files = files.unionByName(spark.createDataFrame([(p, 0, bytearray()) for p in empty], schema))
    return files.withColumn("doc_id", F.sha2("content", 256))


def mark_done(spark, files, lake: str, model_version: str, retry_errors: bool = False):
    """`files` + boolean `done` (its (doc_id, model_version) is in `documents`; with `retry_errors` only
    with status ok), with the content of done files dropped, materialised once: the archive is read and
    hashed one time for both uses below."""
    from pyspark.sql import functions as F

    from jobs.tables import read_table

    done = read_table(spark, lake, "documents").where(F.col("model_version") == model_version)
    if retry_errors:
        done = done.where(F.col("status") == "ok")
    done = done.select("doc_id").distinct().withColumn("done", F.lit(True))
    marked = (files.join(F.broadcast(done), "doc_id", "left").fillna(False, ["done"])
              .withColumn("content", F.when(F.col("done"), F.lit(None)).otherwise(F.col("content"))))
    return marked.localCheckpoint(eager=True)


def documents_to_do(marked, tasks: int):
    """Files not done under this version, one row per distinct content (two copies are read once)."""
    from pyspark.sql import functions as F

    todo = marked.where(~F.col("done")).drop("done")
    return todo.repartition(tasks, "doc_id").dropDuplicates(["doc_id"])


def file_rows(marked, run_id: str, run_date: dt.date):
    """`files` rows: every listed path with its content's doc_id (first seen in this run)."""
    from pyspark.sql import functions as F

    return marked.select("path", "doc_id", F.col("length").alias("size_bytes"), F.lit(run_id).alias("run_id"),
                         F.to_date(F.lit(run_date.isoformat())).alias("run_date"))


def table_rows(pages_df, name: str):
    """The rows of table `name` out of the persisted PAGE_ROW frame (+ run_id, run_date, processed_at)."""
    from pyspark.sql import functions as F

    ok = pages_df.where(F.col("error_stage").isNull())
    key = ["doc_id", "model_version"]
    if name == "pages":
        return ok.withColumn("n_words", F.size("words"))
    if name in ("words", "lines", "entities", "fields"):
        extra = ["template_id"] if name == "fields" else []
        return ok.select(*key, "page", *extra, "run_id", "run_date",
                         F.explode(name).alias("x")).select(*key, "page", *extra, "run_id", "run_date", "x.*")
    if name == "errors":
        return pages_df.where(F.col("error_stage").isNotNull()).select(
            *key, "path", F.col("error_stage").alias("stage"), "error_class",
            F.col("error_message").alias("message"), "run_id", "run_date")
    if name == "documents":
        return pages_df.where(F.col("page") <= 1).withColumn(
            "status", F.when(F.col("error_stage").isNull(), F.lit("ok")).otherwise(F.lit("error")))
    raise ValueError(f"no rows rule for table {name!r}")


def row_counts(pages_df) -> dict[str, int]:
    """Rows each table gets from this run, in one pass over the UDF output (this pass runs the OCR)."""
    from pyspark.sql import functions as F

    ok = F.col("error_stage").isNull()
    aggs = [F.count(F.when(ok, 1)).alias("pages"), F.count(F.when(~ok, 1)).alias("errors"),
            F.count(F.when(F.col("page") <= 1, 1)).alias("documents")]
    aggs += [F.coalesce(F.sum(F.when(ok, F.size(name))), F.lit(0)).alias(name)
             for name in ("words", "lines", "entities", "fields")]
    return pages_df.agg(*aggs).first().asDict()


def write_tables(spark, lake: str, pages_df, counts: dict[str, int], threads: int = 3,
                 retry_errors: bool = False) -> None:
    """MERGE the rows of every table that gets any; the detail tables concurrently (independent Delta
    logs), then `documents`, which marks the documents done for the incremental filter. Every MERGE is
    insert-only (Delta's append fast path) except, when retrying, the `documents` one."""
    from concurrent.futures import ThreadPoolExecutor

    from jobs.tables import merge_rows

    *details, marker = WRITE_ORDER
    details = [name for name in details if counts.get(name, 0) > 0]
    with ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="merge") as pool:
        futures = [pool.submit(merge_rows, spark, lake, name, table_rows(pages_df, name)) for name in details]
        for future in futures:
            future.result()
    # a retried document's new outcome replaces its `error` row (the errors table keeps the history)
    merge_rows(spark, lake, marker, table_rows(pages_df, marker),
               update_if="t.status = 'error'" if retry_errors else None)


def _runs_row(spark, summary: RunSummary | None, base: dict, status: str):
    from pyspark.sql import functions as F

    from jobs.tables import spark_schema
    from udfs.schema import TABLES

    row = dict(base, status=status, finished_at=None, **{k: None for k in (
        "n_seen", "n_skipped", "n_docs", "n_pages", "n_errors", "duration_s", "ocr_s", "pages_per_s")})
    if summary is not None:
        row.update(finished_at=dt.datetime.now(dt.timezone.utc), n_seen=summary.n_seen,
                   n_skipped=summary.n_skipped, n_docs=summary.n_docs, n_pages=summary.n_pages,
                   n_errors=summary.n_errors, duration_s=summary.duration_s, ocr_s=summary.ocr_s,
                   pages_per_s=summary.pages_per_s)
    schema = spark_schema(TABLES["runs"].schema)
    return spark.createDataFrame([tuple(row[f.name] for f in schema.fields)], schema).withColumn(
        "run_date", F.to_date(F.lit(base["run_date"].isoformat())))


def run_nightly(spark, config: NightlyConfig, source: PipelineSource, mlflow_run_id: str | None = None,
                log: Callable[[str], None] = print) -> RunSummary:
    """Run one night over `config.source` with the pipeline `source` (already resolved to a version)."""
    from pyspark.sql import functions as F

    from jobs.tables import append_rows, commit_metadata, ensure_tables, merge_rows, spark_schema

    t_start = time.perf_counter()
    ref = source.ref
    run_date = config.run_date or dt.datetime.now(dt.timezone.utc).date()
    run_id = new_run_id(run_date)
    tasks = config.tasks or 2 * spark.sparkContext.defaultParallelism
    ensure_tables(spark, config.lake)
    commit_metadata(spark, {"run_id": run_id, "model_name": ref.name, "model_version": str(ref.version),
                            "component_versions": dict(ref.component_versions), "mlflow_run_id": mlflow_run_id})
    base = {"run_id": run_id, "run_date": run_date, "started_at": dt.datetime.now(dt.timezone.utc),
            "source": config.source, "model_name": ref.name, "model_version": str(ref.version),
            "component_versions": dict(ref.component_versions), "mlflow_run_id": mlflow_run_id}
    try:
        listed = list_files(spark, config.source, config.path_glob)
        n_seen = len(listed)
        files = list_documents(spark, config.source, config.path_glob, [p for p, n in listed.items() if n == 0])
        marked = mark_done(spark, files, config.lake, str(ref.version), config.retry_errors)
        todo = documents_to_do(marked, tasks)
        log(f"[nightly] run {run_id}: {n_seen} files under {config.source}, model {ref.name} v{ref.version}")
        t_ocr = time.perf_counter()
        progress = Progress(spark, n_seen, config.progress_every_s, log)
        pages_df = (todo.select("path", "content", "doc_id")
                    .mapInPandas(ocr_partitions(source, config.ocr, progress.on_batch()), spark_schema(PAGE_ROW))
                    .withColumn("run_id", F.lit(run_id))
                    .withColumn("run_date", F.to_date(F.lit(run_date.isoformat())))
                    .withColumn("processed_at", F.current_timestamp()))
        with progress:
            # run the OCR exactly once: a checkpoint cuts the lineage, so the MERGEs below read stored rows
            # (a plain persist() is not matched inside Delta's MERGE plans and would re-run the UDF per table)
            pages_df = pages_df.localCheckpoint(eager=True)
            counts = row_counts(pages_df)
        ocr_s = time.perf_counter() - t_ocr
        n_todo = counts["documents"]
        if config.progress_every_s > 0 and n_todo:
            log(progress.line())
        if n_todo:
            write_tables(spark, config.lake, pages_df, counts, config.write_threads, config.retry_errors)
        if n_seen:
            merge_rows(spark, config.lake, "files", file_rows(marked, run_id, run_date))
        summary = RunSummary(run_id, run_date, ref.name, str(ref.version), n_seen, n_seen - n_todo, n_todo,
                             counts["pages"], counts["errors"], time.perf_counter() - t_start, ocr_s,
                             progress.docs.value)
        append_rows(spark, config.lake, "runs", _runs_row(spark, summary, base, "ok"))
        log(summary.line())
        return summary
    except BaseException:
        append_rows(spark, config.lake, "runs", _runs_row(spark, None, base, "failed"))
        raise
    finally:
        commit_metadata(spark, None)


def with_run_date(config: NightlyConfig, run_date: dt.date) -> NightlyConfig:
    return replace(config, run_date=run_date)
