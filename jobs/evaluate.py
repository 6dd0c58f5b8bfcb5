"""`lakeocr evaluate DATASET_DIR... [--engine lakeocr|tesseract|rapidocr] [--json] [--report DIR]`

Runs one engine over dataset folders in the benchdata format, scores it with models.eval (the same code for
every engine), prints a table or one JSON object, logs an MLflow run (params: engine and the model versions
it evaluated; metrics: `<dataset>.<figure>`; artifact: the JSON), and optionally appends one row per dataset
to an `evaluations` Delta table through delta-rs (no Spark session needed).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from models.eval.pages import EvalConfig
from models.eval.report import ReportConfig, summary_table, write_report
from models.eval.runner import SavedPredictions, engine_predict, evaluate_dataset, saved_predict
from models.peers import ENGINES, build_engine

EXPERIMENT = "lakeocr-evaluate"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("datasets", nargs="+", type=Path, help="dataset folders holding images/ and gt/")
    parser.add_argument("--engine", choices=sorted(ENGINES), default="lakeocr")
    parser.add_argument("--predictions", type=Path, default=None,
                        help="score saved prediction JSONs (<dir>/<stem>.json) instead of running an engine")
    parser.add_argument("--postocr", action="store_true",
                        help="run lakeocr's post-OCR stages (lines, entities, links, fields) on a peer's pages")
    parser.add_argument("--gt-boxes", action="store_true",
                        help="lakeocr only: feed the GT boxes to the readers (script id, recognizers, post-OCR)")
    parser.add_argument("--lang", default="eng", help="tesseract languages, e.g. eng or kor+eng")
    parser.add_argument("--psm", type=int, default=3, help="tesseract page segmentation mode (3 = its default)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for the engine (torch / ORT / OMP)")
    parser.add_argument("--weights-dir", type=Path, default=None, help="lakeocr weights (default models/weights)")
    parser.add_argument("--device", default="cpu", help="lakeocr torch device (cpu, cuda)")
    parser.add_argument("--reread", action="store_true",
                        help="lakeocr: read doubtful crops again, stretched (slower, more accurate on receipts)")
    parser.add_argument("--iou", type=float, default=0.5)
    parser.add_argument("--casefold", choices=("auto", "yes", "no"), default="auto")
    parser.add_argument("--limit", type=int, default=None, help="first N pages of each dataset")
    parser.add_argument("--json", action="store_true", help="print one JSON object of all metrics")
    parser.add_argument("--report", type=Path, default=None, help="write a Markdown report with drawn pages here")
    parser.add_argument("--save-json", type=Path, default=None, help="also write the JSON object to this file")
    parser.add_argument("--no-mlflow", action="store_true", help="do not log an MLflow run")
    parser.add_argument("--evaluations-table", default=None,
                        help="append one row per dataset to this Delta table path (delta-rs)")


# ------------------------------------------------------------------------------------------ engine
def _make_engine(args):
    """(name, version, model versions, predict) for the chosen engine or saved predictions."""
    if args.predictions is not None:
        saved = SavedPredictions(args.predictions)
        return saved.name, saved.version, {}, saved_predict(saved)
    kwargs: dict = {"threads": args.threads}
    if args.engine == "tesseract":
        kwargs.update(lang=args.lang, psm=args.psm)
    if args.engine == "lakeocr":
        import torch
        torch.set_num_threads(args.threads)
        kwargs = {"device": args.device, "reread": args.reread,
                  **({"weights_dir": args.weights_dir} if args.weights_dir else {})}
        if args.gt_boxes:
            from models.peers.lakeocr import gt_boxes_engine, gt_boxes_predict
            engine, boxes = gt_boxes_engine(**kwargs)
            return ("lakeocr+gt-boxes", engine.version, dict(engine.pipeline.versions),
                    gt_boxes_predict(engine, boxes))
    engine = build_engine(args.engine, **kwargs)
    versions = dict(getattr(getattr(engine, "pipeline", None), "versions", {}) or {})
    predict = engine_predict(engine)
    if args.postocr and args.engine != "lakeocr":
        from models.postocr.stages import default_stages
        stages, peer = default_stages(), predict

        def predict(path, image):
            page = peer(path, image)
            for stage in stages:
                page = stage(page)
            return page
        return f"{engine.name}+postocr", engine.version, versions, predict
    return engine.name, engine.version, versions, predict


def peak_rss_mb() -> dict:
    """Peak resident memory (MiB) of this process and of its largest finished child (tesseract)."""
    to_mb = 1 / 1024 if sys.platform != "darwin" else 1 / (1024 * 1024)   # ru_maxrss: KiB on Linux
    return {"self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * to_mb,
            "children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * to_mb}


def evaluate(args) -> tuple[dict, list]:
    """Run and score; returns (summary dict = the JSON schema, all page cases)."""
    name, version, versions, predict = _make_engine(args)
    config = EvalConfig(iou=args.iou, casefold=args.casefold)
    progress = None if args.json else (lambda msg: print(msg, file=sys.stderr))
    started = datetime.now(timezone.utc)
    datasets, cases = {}, []
    for d in args.datasets:
        run = evaluate_dataset(d, predict, config, limit=args.limit, progress=progress)
        key = run.name if run.name not in datasets else str(d)
        datasets[key] = run.metrics
        cases += run.cases
    summary = {
        "schema": "lakeocr.evaluation/1",
        "evaluation_id": uuid.uuid4().hex,
        "started": started.isoformat(timespec="seconds"),
        "engine": name,
        "engine_version": version,
        "model_versions": versions,
        "config": {"iou": config.iou, "casefold": config.casefold, "threads": args.threads, "device": args.device,
                   "lang": args.lang if name == "tesseract" else None, "limit": args.limit},
        "host": {"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "peak_rss_mb": peak_rss_mb(),
        "datasets": datasets,
    }
    return summary, cases


# ------------------------------------------------------------------------------------------ outputs
def flat_metrics(summary: dict) -> dict[str, float]:
    """`<dataset>.<group>.<figure>` -> float for MLflow (None / NaN dropped)."""
    out: dict[str, float] = {}

    def walk(prefix: str, v) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                walk(f"{prefix}.{k}", x)
        elif isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(float(v)):
            out[prefix] = float(v)

    for ds, m in summary["datasets"].items():
        walk(ds, m)
    for k, v in summary["peak_rss_mb"].items():
        out[f"peak_rss_mb.{k}"] = float(v)
    return out


def registry_tags(weights_dir: Path | None) -> dict[str, str]:
    """Link to the registered `lakeocr-pipeline` version holding exactly these weights (jobs/registry.py):
    tags `weights_digest` and `registered_pipeline_version` ("unregistered" when no version has them)."""
    from jobs import registry
    from models.weights import WEIGHTS_DIR

    try:
        digest = registry.weights_digest(weights_dir or WEIGHTS_DIR)
    except FileNotFoundError:
        return {}
    return {"weights_digest": digest,
            "registered_pipeline_version": registry.find_version(digest) or "unregistered"}


def log_mlflow(summary: dict, extra_tags: dict[str, str] | None = None) -> str:
    """One MLflow run per evaluation; returns its run id."""
    import mlflow

    from jobs.mlflow_log import tracking_uri

    mlflow.set_tracking_uri(tracking_uri())
    mlflow.set_experiment(EXPERIMENT)
    with mlflow.start_run(run_name=f"eval-{summary['engine']}") as run:
        mlflow.log_params({"engine": summary["engine"], "engine_version": summary["engine_version"][:500],
                           "datasets": ",".join(summary["datasets"]), **{f"cfg.{k}": str(v)
                                                                        for k, v in summary["config"].items()}})
        mlflow.set_tags({f"model_version.{k}": v for k, v in summary["model_versions"].items()})
        mlflow.set_tags({"evaluation_id": summary["evaluation_id"], **(extra_tags or {})})
        mlflow.log_metrics(flat_metrics(summary))
        mlflow.log_dict(summary, "evaluation.json")
        return run.info.run_id


def evaluation_rows(summary: dict) -> list[dict]:
    """One flat row per dataset for the `evaluations` Delta table."""
    rows = []
    for ds, m in summary["datasets"].items():
        get = lambda group, key: (m.get(group) or {}).get(key)   # noqa: E731
        rows.append({
            "evaluation_id": summary["evaluation_id"], "started": summary["started"],
            "mlflow_run_id": summary.get("mlflow_run_id"), "engine": summary["engine"],
            "engine_version": summary["engine_version"], "model_versions": json.dumps(summary["model_versions"]),
            "dataset": ds, "pages": m["pages"],
            "det_precision": get("det", "precision"), "det_recall": get("det", "recall"),
            "det_hmean": get("det", "hmean"), "e2e_hmean": get("e2e", "hmean"), "cer": get("rec", "cer"),
            "word_acc": get("rec", "word_acc"), "page_cer": m["page_cer"], "page_cer_nospace": m["page_cer_nospace"],
            "bow_hmean": get("bow", "hmean"), "field_hmean": get("fields", "hmean"),
            "link_hmean": get("links", "hmean"), "pages_per_s": m["pages_per_s"],
            "peak_rss_mb": max(summary["peak_rss_mb"].values()), "metrics_json": json.dumps(m),
        })
    return rows


_STRING_COLS = ("evaluation_id", "started", "mlflow_run_id", "engine", "engine_version", "model_versions",
                "dataset", "metrics_json")


def append_evaluations(summary: dict, table: str) -> None:
    """Append the rows to a Delta table with delta-rs (created on first write); the commit carries the
    evaluation id, engine and MLflow run id as metadata."""
    import pyarrow as pa
    from deltalake import CommitProperties, write_deltalake

    rows = evaluation_rows(summary)
    schema = pa.schema([(k, pa.string() if k in _STRING_COLS else pa.int64() if k == "pages" else pa.float64())
                        for k in rows[0]])
    meta = {"evaluation_id": summary["evaluation_id"], "engine": summary["engine"],
            "mlflow_run_id": str(summary.get("mlflow_run_id"))}
    write_deltalake(table, pa.Table.from_pylist(rows, schema=schema), mode="append",
                    commit_properties=CommitProperties(custom_metadata=meta))


def _clean(v):
    """JSON-safe: NaN -> None."""
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_clean(x) for x in v]
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def run(args) -> int:
    t0 = time.perf_counter()
    try:
        summary, cases = evaluate(args)
    except (RuntimeError, ValueError) as exc:
        print(f"lakeocr evaluate: {exc}", file=sys.stderr)
        return 2
    summary = _clean(summary)
    summary["wall_s"] = round(time.perf_counter() - t0, 2)
    if not args.no_mlflow:
        try:
            tags = registry_tags(args.weights_dir) if summary["engine"] == "lakeocr" else {}
            summary["mlflow_run_id"] = log_mlflow(summary, tags)
        except Exception as exc:   # noqa: BLE001 - a busy or unreachable tracking store must not lose the scores
            print(f"lakeocr evaluate: MLflow logging failed, scores kept: {type(exc).__name__}: {exc}",
                  file=sys.stderr)
            summary["mlflow_run_id"] = None
    if args.evaluations_table:
        append_evaluations(summary, args.evaluations_table)
    if args.report:
        md = write_report(args.report, summary, cases, ReportConfig())
        summary["report"] = str(md)
    if args.save_json:
        args.save_json.parent.mkdir(parents=True, exist_ok=True)
        args.save_json.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(f"{summary['engine']} ({summary['engine_version']})")
        print("\n".join(summary_table(summary)))
        if args.report:
            print(f"report: {summary['report']}")
    return 0
