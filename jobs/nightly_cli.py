"""`lakeocr nightly`: resolve the champion pipeline, run the nightly job, log the run to MLflow.

Everything that differs between a laptop and a cluster is an argument here (master, confs, device,
precision, batch sizes); the job itself (jobs/nightly.py) has no branches for it.
"""
from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from jobs.query import DEFAULT_LAKE

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = str(REPO_ROOT / "samples" / "archive")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", default=DEFAULT_SOURCE, help="folder or object-store prefix of documents")
    parser.add_argument("--lake", default=DEFAULT_LAKE, help="root of the Delta tables")
    parser.add_argument("--alias", default="champion", help="registry alias to resolve (default champion)")
    parser.add_argument("--model-version", help="a concrete pipeline version instead of the alias")
    parser.add_argument("--bootstrap", metavar="WEIGHTS_DIR", nargs="?", const=str(REPO_ROOT / "models/weights"),
                        help="register shipped weights first (idempotent), default models/weights")
    parser.add_argument("--run-date", type=dt.date.fromisoformat, help="partition date (default today, UTC)")
    parser.add_argument("--glob", default="*", help="file name glob (Spark pathGlobFilter)")
    parser.add_argument("--retry-errors", action="store_true",
                        help="read again the documents this model version failed on (default: skip them)")
    g = parser.add_argument_group("spark")
    g.add_argument("--master", default="local[2]", help="Spark master; 'none' = leave it to spark-submit")
    g.add_argument("--tasks", type=int, default=0, help="UDF partitions (0 = 2 x parallelism)")
    g.add_argument("--docs-per-batch", type=int, default=8, help="documents per Arrow batch into the UDF")
    g.add_argument("--shuffle-partitions", type=int, default=4)
    g.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE", help="extra Spark conf")
    g.add_argument("--no-delta-jars", action="store_true", help="Delta is already on the cluster classpath")
    o = parser.add_argument_group("ocr")
    o.add_argument("--device", default="auto", help="auto | cpu | cuda (the task's GPU)")
    o.add_argument("--precision", default="auto", help="auto (fp16 on GPU) | fp32 | bf16 | int8 (CPU)")
    o.add_argument("--batch-pages", type=int, default=8, help="pages per pipeline call (raise on GPU)")
    o.add_argument("--reread", action="store_true",
                   help="read doubtful crops again, stretched (slower, more accurate on receipts)")
    o.add_argument("--max-pixels", type=int, default=40_000_000)
    o.add_argument("--max-pages", type=int, default=200)
    o.add_argument("--pdf-dpi", type=float, default=150.0)
    parser.add_argument("--progress-every", type=float, default=5.0, help="seconds between progress lines")


def _confs(pairs: list[str]) -> tuple[tuple[str, str], ...]:
    out = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--conf expects KEY=VALUE, got {pair!r}")
        out.append((key.strip(), value.strip()))
    return tuple(out)


def run(args) -> int:
    import mlflow

    from jobs import registry
    from jobs.mlflow_log import tracking_uri
    from jobs.nightly import NightlyConfig, run_nightly
    from jobs.spark import SparkSettings, build_session
    from udfs.decode import DecodeLimits
    from udfs.ocr import OcrConfig

    if args.bootstrap:
        registry.bootstrap(args.bootstrap)
    ref = registry.ref_for_version(args.model_version) if args.model_version else registry.resolve(args.alias)
    print(f"[nightly] {ref.name}@{args.alias if not args.model_version else 'pinned'} = v{ref.version} "
          f"{dict(ref.component_versions)}")
    spark = build_session(SparkSettings(
        master=None if args.master == "none" else args.master, shuffle_partitions=args.shuffle_partitions,
        docs_per_arrow_batch=args.docs_per_batch, delta_jars=not args.no_delta_jars, extra=_confs(args.conf)))
    source = registry.registry_source(ref, spark)
    config = NightlyConfig(
        source=args.source, lake=args.lake, run_date=args.run_date, path_glob=args.glob, tasks=args.tasks,
        progress_every_s=args.progress_every, retry_errors=args.retry_errors,
        ocr=OcrConfig(limits=DecodeLimits(max_pixels=args.max_pixels, max_pages=args.max_pages,
                                          pdf_dpi=args.pdf_dpi),
                      batch_pages=args.batch_pages, device=args.device, precision=args.precision,
                      reread=args.reread))
    mlflow.set_tracking_uri(tracking_uri())
    registry.use_experiment(registry.mlflow_client(), "lakeocr-nightly")
    with mlflow.start_run(run_name=f"nightly-{config.run_date or dt.date.today()}") as mlrun:
        summary = run_nightly(spark, config, source, mlflow_run_id=mlrun.info.run_id)
        mlflow.log_params({"model_name": ref.name, "model_version": ref.version, "source": args.source,
                           "precision": args.precision, "reread": args.reread,
                           "lake": args.lake, "run_id": summary.run_id})
        mlflow.log_metrics({"n_docs": summary.n_docs, "n_pages": summary.n_pages, "n_errors": summary.n_errors,
                            "n_skipped": summary.n_skipped, "duration_s": summary.duration_s,
                            "pages_per_s": summary.pages_per_s})
    return 0
