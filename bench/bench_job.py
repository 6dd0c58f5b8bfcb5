"""Nightly-job throughput vs the same pipeline in a plain Python loop, and memory over a long run.

    python bench/bench_job.py [--archive samples/archive] [--weights models/weights] [--cores 2]
    python bench/bench_job.py --long 2000          # + memory of driver JVM and Python workers over 2,000 pages

Both sides decode the same files with udfs.decode and run `models.zoo.load_pipeline(weights)`:
- loop: one process, torch threads = --cores, documents in order, pages in batches of --batch-pages;
- job: `run_nightly` on local[--cores] (one torch thread per task), empty lake, timed from the job's start
  to its last commit; the Spark session, the registry bootstrap and the (empty) tables exist before the
  clock starts, as they do on every night but the first.
Overhead = 1 - job pages/s / loop pages/s (target <= 15 % at 2 local cores).
`--pipeline fake` uses the tests' deterministic double instead of the weights (measures pure job overhead).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def load_source(kind: str, weights: str, tmp: Path, spark):
    """(PipelineSource for the job, a pipeline instance for the loop)."""
    if kind == "fake":
        from pyspark import cloudpickle

        import tests.conftest as fakes
        cloudpickle.register_pickle_by_value(fakes)
        return fakes.FakeSource(fakes.fake_ref("1")), fakes.FakePipeline("1")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp / 'mlflow.db'}"
    from jobs import registry
    from models.zoo import load_pipeline

    ref = registry.bootstrap(weights, log=lambda s: None)
    return registry.registry_source(ref, spark), load_pipeline(weights, "cpu")


def plain_loop(files: list[Path], pipeline, batch_pages: int, threads: int) -> tuple[int, float]:
    """(pages, seconds) of decode + pipeline.run over `files` in one Python process."""
    import torch

    from udfs.decode import DecodeError, decode_document

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    pending, n = [], 0
    for path in files:
        try:
            pending.extend(decode_document(path.read_bytes()))
        except DecodeError:
            continue
        while len(pending) >= batch_pages:
            pipeline.run(pending[:batch_pages])
            n, pending = n + batch_pages, pending[batch_pages:]
    if pending:
        pipeline.run(pending)
        n += len(pending)
    return n, time.perf_counter() - t0


def long_archive(src: Path, dst: Path, pages: int) -> Path:
    """Copies of the single-page JPEG/PNG samples, each made distinct by a trailing comment after the
    image's end marker (decoders ignore it; doc_id = sha256 differs), until `pages` pages."""
    dst.mkdir(parents=True, exist_ok=True)
    base = sorted(p for p in src.glob("*") if p.suffix in (".jpg", ".png"))
    for i in range(pages):
        p = base[i % len(base)]
        (dst / f"{i:05d}_{p.name}").write_bytes(p.read_bytes() + f"\nlakeocr-bench-copy-{i}".encode())
    return dst


class MemorySampler:
    """RSS of this process and all its children (JVM, Python workers) every `every_s` seconds."""

    def __init__(self, every_s: float = 2.0):
        import psutil

        self.proc, self.every_s, self.samples = psutil.Process(), every_s, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _rss(self) -> int:
        total = 0
        for p in [self.proc, *self.proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except Exception:      # noqa: BLE001 - a worker that just exited
                pass
        return total

    def _loop(self) -> None:
        t0 = time.perf_counter()
        while not self._stop.wait(self.every_s):
            self.samples.append((round(time.perf_counter() - t0, 1), round(self._rss() / 2**20)))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", default=str(REPO / "samples" / "archive"))
    parser.add_argument("--weights", default=str(REPO / "models" / "weights"))
    parser.add_argument("--pipeline", choices=("zoo", "fake"), default="zoo")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--batch-pages", type=int, default=8)
    parser.add_argument("--long", type=int, default=0, help="also run the job over this many pages (memory)")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)

    from jobs.nightly import NightlyConfig, run_nightly
    from jobs.spark import SparkSettings, build_session
    from jobs.tables import ensure_tables
    from udfs.ocr import OcrConfig

    tmp = Path(tempfile.mkdtemp(prefix="bench-job-"))
    results: dict = {"cores": args.cores, "pipeline": args.pipeline, "archive": args.archive}
    try:
        t0 = time.perf_counter()
        spark = build_session(SparkSettings(master=f"local[{args.cores}]", shuffle_partitions=args.cores))
        results["session_start_s"] = round(time.perf_counter() - t0, 1)
        source, pipeline = load_source(args.pipeline, args.weights, tmp, spark)
        files = sorted(p for p in Path(args.archive).rglob("*") if p.is_file())

        pages, secs = plain_loop(files, pipeline, args.batch_pages, args.cores)
        results["loop"] = {"pages": pages, "seconds": round(secs, 2), "pages_per_s": round(pages / secs, 3)}
        print(f"[bench] plain loop: {pages} pages in {secs:.1f} s = {pages / secs:.2f} pages/s")

        ocr = OcrConfig(batch_pages=args.batch_pages, device="cpu")
        cfg = NightlyConfig(source=args.archive, lake=str(tmp / "lake"), tasks=2 * args.cores, ocr=ocr,
                            progress_every_s=0)
        ensure_tables(spark, cfg.lake)    # a nightly run finds its tables; creating them is a one-off
        s = run_nightly(spark, cfg, source, log=lambda m: None)
        job_pps = s.n_pages / s.duration_s
        results["job"] = {"pages": s.n_pages, "seconds": round(s.duration_s, 2), "pages_per_s": round(job_pps, 3),
                          "ocr_stage_s": round(s.ocr_s, 2)}
        results["overhead_pct"] = round(100 * (1 - job_pps / (pages / secs)), 1)
        print(f"[bench] nightly job: {s.n_pages} pages in {s.duration_s:.1f} s = {job_pps:.2f} pages/s "
              f"(OCR stage {s.ocr_s:.1f} s) -> overhead {results['overhead_pct']} %")
        again = run_nightly(spark, cfg, source, log=lambda m: None)
        results["noop_rerun_s"] = round(again.duration_s, 2)
        print(f"[bench] rerun of the same night (no-op): {again.duration_s:.1f} s")

        if args.long:
            long_src = long_archive(Path(args.archive), tmp / "long", args.long)
            long_cfg = NightlyConfig(source=str(long_src), lake=str(tmp / "lake_long"), tasks=4 * args.cores,
                                     ocr=ocr, progress_every_s=30)
            with MemorySampler() as mem:
                s = run_nightly(spark, long_cfg, source)
            rss = [m for _t, m in mem.samples]
            results["long"] = {"pages": s.n_pages, "seconds": round(s.duration_s, 1),
                               "pages_per_s": round(s.n_pages / s.duration_s, 3),
                               "rss_mb_first_quarter_max": max(rss[: max(1, len(rss) // 4)]),
                               "rss_mb_last_quarter_max": max(rss[-max(1, len(rss) // 4):]),
                               "rss_mb_max": max(rss), "samples": mem.samples[:: max(1, len(mem.samples) // 20)]}
            print(f"[bench] long run: {s.n_pages} pages in {s.duration_s:.0f} s; RSS (driver+JVM+workers) "
                  f"max {max(rss)} MB, first quarter max {results['long']['rss_mb_first_quarter_max']} MB, "
                  f"last quarter max {results['long']['rss_mb_last_quarter_max']} MB")
        spark.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k != "long"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
