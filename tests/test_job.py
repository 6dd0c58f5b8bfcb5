"""End-to-end nightly job on a handful of documents (local[2] Spark + Delta), with the test-double pipeline:
run twice (no duplicates, the second run processes nothing), then under a new model version (everything is
re-processed, the old rows stay queryable), and read back by Spark SQL and by DuckDB over delta-rs."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pytest

from jobs.nightly import NightlyConfig, run_nightly
from jobs.query import query_duckdb, query_spark
from tests.conftest import FakeSource, fake_ref, write_archive

pytestmark = pytest.mark.spark

NIGHT = dt.date(2026, 11, 24)


@pytest.fixture(scope="module")
def lake_runs(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("nightly")
    expected = write_archive(root / "archive", n_good=4, seed=1)
    cfg = NightlyConfig(source=str(root / "archive"), lake=str(root / "lake"), run_date=NIGHT, progress_every_s=0)
    first = run_nightly(spark, cfg, FakeSource(fake_ref("1")), log=lambda s: None)
    again = run_nightly(spark, cfg, FakeSource(fake_ref("1")), log=lambda s: None)
    upgraded = run_nightly(spark, cfg, FakeSource(fake_ref("2")), log=lambda s: None)
    return {"lake": str(root / "lake"), "expected": expected, "runs": (first, again, upgraded)}


def _sql(spark, lake, sql):
    return query_spark(sql, lake, spark)


def test_first_run_writes_every_document_once(spark, lake_runs):
    first = lake_runs["runs"][0]
    expected = lake_runs["expected"]
    good = {p: n for p, n in expected.items() if n}
    assert (first.n_seen, first.n_docs, first.n_skipped) == (len(expected), len(expected), 0)
    assert first.n_pages == sum(good.values()) and first.n_errors == 2
    assert first.n_udf_docs == first.n_docs          # the OCR ran once per document, not once per table
    docs = _sql(spark, lake_runs["lake"], "SELECT path, n_pages, status FROM documents WHERE model_version = '1'")
    got = {p.removeprefix("file:"): (n, s) for p, n, s in docs.itertuples(index=False)}
    assert got == {p: (n, "ok" if n else "error") for p, n in expected.items()}


def test_second_run_is_a_no_op_and_nothing_is_duplicated(spark, lake_runs):
    again = lake_runs["runs"][1]
    assert (again.n_docs, again.n_pages, again.n_errors) == (0, 0, 0)
    assert again.n_skipped == again.n_seen
    lake = lake_runs["lake"]
    for table, key in [("documents", "doc_id, model_version"), ("pages", "doc_id, model_version, page"),
                       ("words", "doc_id, model_version, page, word_id"),
                       ("errors", "doc_id, model_version, stage")]:
        dup = _sql(spark, lake, f"SELECT {key}, count(*) AS n FROM {table} GROUP BY {key} HAVING n > 1")
        assert dup.empty, f"duplicates in {table}"


def test_bad_files_land_in_errors_with_their_class(spark, lake_runs):
    errs = _sql(spark, lake_runs["lake"], "SELECT path, stage, error_class FROM errors WHERE model_version = '1'")
    got = {p.rsplit("/", 1)[1]: (s, c) for p, s, c in errs.itertuples(index=False)}
    assert got == {"zero.png": ("decode", "EmptyFile"), "truncated.pdf": ("decode", "CorruptPdf")}


def test_new_model_version_reprocesses_and_old_rows_stay(spark, lake_runs):
    first, _again, upgraded = lake_runs["runs"]
    assert upgraded.n_docs == first.n_docs and upgraded.model_version == "2"
    counts = _sql(spark, lake_runs["lake"],
                  "SELECT model_version, count(*) AS n FROM words GROUP BY model_version ORDER BY model_version")
    assert counts.model_version.tolist() == ["1", "2"]
    assert counts.n.iloc[0] == counts.n.iloc[1] > 0
    stamps = _sql(spark, lake_runs["lake"], "SELECT DISTINCT model_version, component_versions['detector'] AS det "
                                            "FROM documents ORDER BY model_version")
    assert stamps.det.tolist() == ["det1", "det2"]


def test_runs_table_and_commit_metadata(spark, lake_runs):
    runs = _sql(spark, lake_runs["lake"], "SELECT run_id, status, n_docs, model_version FROM runs ORDER BY started_at")
    assert runs.run_id.tolist() == [r.run_id for r in lake_runs["runs"]]
    assert runs.status.tolist() == ["ok"] * 3 and runs.n_docs.tolist()[1] == 0
    history = spark.sql(f"DESCRIBE HISTORY delta.`{lake_runs['lake']}/words`").collect()
    merges = [json.loads(h["userMetadata"]) for h in history if h["operation"] == "MERGE"]
    assert {m["model_version"] for m in merges} == {"1", "2"}
    assert {m["run_id"] for m in merges} == {lake_runs["runs"][0].run_id, lake_runs["runs"][2].run_id}


def test_spark_sql_and_duckdb_over_delta_rs_agree(spark, lake_runs):
    lake = lake_runs["lake"]
    sql = ("SELECT d.path, w.model_version, count(*) AS n_words, sum(f.value_num) AS total "
           "FROM documents d JOIN words w ON d.doc_id = w.doc_id AND d.model_version = w.model_version "
           "LEFT JOIN fields f ON f.doc_id = w.doc_id AND f.model_version = w.model_version "
           "AND f.page = w.page AND f.field_name = 'total' "
           "GROUP BY d.path, w.model_version ORDER BY d.path, w.model_version")
    via_spark, via_duck = _sql(spark, lake, sql), query_duckdb(sql, lake)
    assert len(via_spark) == len(via_duck) > 0
    assert via_spark.path.tolist() == via_duck.path.tolist()
    assert via_spark.n_words.tolist() == via_duck.n_words.tolist()
    assert via_spark.total.tolist() == pytest.approx(via_duck.total.tolist())


def test_change_data_feed_shows_what_the_upgrade_inserted(spark, lake_runs):
    cdf = (spark.read.format("delta").option("readChangeFeed", "true").option("startingVersion", 2)
           .load(f"{lake_runs['lake']}/documents"))
    rows = cdf.select("model_version", "_change_type").distinct().collect()
    assert {(r["model_version"], r["_change_type"]) for r in rows} == {("2", "insert")}


def test_a_crash_before_documents_is_committed_loses_and_duplicates_nothing(spark, tmp_path, monkeypatch):
    import jobs.tables

    write_archive(tmp_path / "archive", n_good=2, seed=2, broken=False)
    cfg = NightlyConfig(source=str(tmp_path / "archive"), lake=str(tmp_path / "lake"), run_date=NIGHT,
                        progress_every_s=0)
    real_merge = jobs.tables.merge_rows

    def crash_on_documents(spark_, lake, name, df, **kw):
        if name == "documents":
            raise RuntimeError("executor lost")
        return real_merge(spark_, lake, name, df, **kw)

    monkeypatch.setattr(jobs.tables, "merge_rows", crash_on_documents)
    with pytest.raises(RuntimeError, match="executor lost"):
        run_nightly(spark, cfg, FakeSource(fake_ref("1")), log=lambda s: None)
    monkeypatch.setattr(jobs.tables, "merge_rows", real_merge)
    rerun = run_nightly(spark, cfg, FakeSource(fake_ref("1")), log=lambda s: None)
    assert rerun.n_docs == 2                       # nothing was marked done by the crashed run
    lake = str(tmp_path / "lake")
    pages = _sql(spark, lake, "SELECT doc_id, page, count(*) AS n FROM pages GROUP BY doc_id, page")
    assert len(pages) == 2 and set(pages.n) == {1}  # a PNG and a JPEG, each page exactly once
    runs = _sql(spark, lake, "SELECT status FROM runs ORDER BY started_at")
    assert runs.status.tolist() == ["failed", "ok"]


def test_copies_of_one_scan_are_read_once_and_every_path_stays_findable(spark, tmp_path):
    import shutil

    archive = tmp_path / "archive"
    expected = write_archive(archive, n_good=2, seed=3, broken=False)
    first_path, second_path = sorted(expected)
    shutil.copy(first_path, archive / "same_night_copy.png")        # a copy in the first night
    cfg = NightlyConfig(source=str(archive), lake=str(tmp_path / "lake"), run_date=NIGHT, progress_every_s=0)
    night1 = run_nightly(spark, cfg, FakeSource(fake_ref("1")), log=lambda s: None)
    assert (night1.n_seen, night1.n_docs) == (3, 2)                  # two contents, read once each
    (archive / "later").mkdir()
    shutil.copy(second_path, archive / "later" / "rescan.jpg")       # a copy that turns up a night later
    night2 = run_nightly(spark, cfg, FakeSource(fake_ref("1")), log=lambda s: None)
    assert (night2.n_seen, night2.n_docs, night2.n_skipped) == (4, 0, 4)
    lake = str(tmp_path / "lake")
    files = _sql(spark, lake, "SELECT f.path, f.run_id, d.path AS read_as FROM files f "
                              "JOIN documents d USING (doc_id) ORDER BY f.path")
    by_path = {p.removeprefix("file:"): r for p, r in zip(files.path, files.read_as)}
    assert set(by_path) == {first_path, second_path, str(archive / "same_night_copy.png"),
                            str(archive / "later" / "rescan.jpg")}
    assert by_path[str(archive / "same_night_copy.png")] == by_path[first_path]
    assert by_path[str(archive / "later" / "rescan.jpg")].removeprefix("file:") == second_path
    assert files.run_id.nunique() == 2                               # the rescan was first seen on night 2
    night3 = run_nightly(spark, cfg, FakeSource(fake_ref("1")), log=lambda s: None)
    assert night3.n_docs == 0
    assert len(_sql(spark, lake, "SELECT * FROM files")) == 4        # a rerun adds no file rows


def test_retry_errors_reads_failed_documents_again_and_replaces_their_status(spark, tmp_path):
    from tests.conftest import FlakySource

    expected = write_archive(tmp_path / "archive", n_good=2, seed=4)        # 2 good + zero.png + truncated.pdf
    marker = tmp_path / "gpu_is_down"
    marker.touch()
    source = FlakySource(fake_ref("9"), marker=str(marker))    # a version no other test loads: workers cache by it
    cfg = NightlyConfig(source=str(tmp_path / "archive"), lake=str(tmp_path / "lake"), run_date=NIGHT,
                        progress_every_s=0)
    lake = str(tmp_path / "lake")
    night1 = run_nightly(spark, cfg, source, log=lambda s: None)
    assert (night1.n_docs, night1.n_pages, night1.n_errors) == (4, 0, 4)      # every document failed
    marker.unlink()                                                           # the fault is gone
    assert run_nightly(spark, cfg, source, log=lambda s: None).n_docs == 0    # failures are not retried by default
    retry = run_nightly(spark, replace(cfg, retry_errors=True), source, log=lambda s: None)
    assert retry.n_docs == 4 and retry.n_pages == sum(expected.values()) and retry.n_errors == 2
    docs = _sql(spark, lake, "SELECT path, status, count(*) OVER (PARTITION BY doc_id) AS n FROM documents")
    status = {p.removeprefix("file:"): s for p, s in zip(docs.path, docs.status)}
    assert set(docs.n) == {1}                                                 # replaced, not duplicated
    assert status == {p: "ok" if n else "error" for p, n in expected.items()}
    stages = _sql(spark, lake, "SELECT stage, count(*) AS n FROM errors GROUP BY stage ORDER BY stage")
    assert dict(zip(stages.stage, stages.n)) == {"decode": 2, "ocr": 2}       # the history of the failures
    assert run_nightly(spark, replace(cfg, retry_errors=True), source, log=lambda s: None).n_docs == 2
