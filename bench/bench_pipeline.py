"""Stage benchmark of the lakeocr pipeline: throughput per stage and of the whole pipeline, CPU with 1 and 2
threads (and CUDA when present), pages/s and crops/s, peak memory, and a page-count sweep.

    python bench/bench_pipeline.py                       # writes bench/results/pipeline.json
    python bench/bench_pipeline.py --threads 1 --pages 8 --sweep 1 2 4 8

Works with whatever stages load from models/weights: a stage whose weights are missing is listed under
`skipped` with the reason. Pages are real benchdata images (evaluation data, used here only to time; any
dataset folder works with --dataset). Word crops come from the detector when it loads, else from the GT quads.

Each (device, threads, stage) measurement runs in a fresh subprocess so its peak RSS (ru_maxrss) is that
stage's alone (it includes the Python + torch baseline, reported as stage "baseline"). Each measurement
runs once to warm up, then `--repeat` times; the fastest wall time is kept, with its CPU time (all threads
of the process; on a machine shared with other jobs CPU time is the steadier figure).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
DEFAULT_DATASETS = [ROOT.parent / "shared" / "benchdata" / "funsd", ROOT.parent / "shared" / "benchdata" / "sroie"]
STAGES = ("baseline", "detector", "script_id", "recognizer", "postocr", "pipeline")


# ------------------------------------------------------------------------------------------ inputs
def load_inputs(datasets: list[Path], n: int):
    """n (RGB image, GT Page) pairs cycling through the dataset folders' pages."""
    from models.eval.runner import read_image
    from models.gtio import iter_dataset, load_page

    pairs = [p for d in datasets for p in iter_dataset(d)]
    if not pairs:
        raise ValueError("no pages in the datasets")
    return [(read_image(pairs[k % len(pairs)][0]), load_page(pairs[k % len(pairs)][1])) for k in range(n)]


def load_stages(weights_dir: Path, device: str) -> tuple[dict, dict, dict]:
    """(stages, versions, skipped): each stage loaded on its own, so one missing file skips only its stage."""
    stages, versions, skipped = {}, {}, {}
    try:
        from models.detection.predictor import DetectionPredictor
        stages["detector"] = DetectionPredictor.from_weights("detector", weights_dir, device)
        versions["detector"] = stages["detector"].version
    except Exception as exc:   # noqa: BLE001 - any failure to load only skips the stage, with its reason
        skipped["detector"] = f"{type(exc).__name__}: {exc}"
    try:
        from models.script_id.predictor import ScriptPredictor
        stages["script_id"] = ScriptPredictor.from_weights("script_id", weights_dir, device)
        versions["script_id"] = stages["script_id"].version
    except Exception as exc:   # noqa: BLE001
        skipped["script_id"] = f"{type(exc).__name__}: {exc}"
    recognizers = {}
    for path in sorted(weights_dir.glob("recognizer*.pt")):
        try:
            from models.recognition.predictor import RecognitionPredictor
            rec = RecognitionPredictor.from_weights(path.stem, weights_dir, device)
            recognizers[path.stem.split("_", 1)[1] if "_" in path.stem else "*"] = rec
            versions[path.stem] = rec.version
        except Exception as exc:   # noqa: BLE001
            skipped[path.stem] = f"{type(exc).__name__}: {exc}"
    if recognizers:
        stages["recognizers"] = recognizers
    else:
        skipped.setdefault("recognizer", "no recognizer*.pt weights")
    try:
        from models.postocr.stages import default_stages
        stages["postocr"] = default_stages()
    except Exception as exc:   # noqa: BLE001
        skipped["postocr"] = f"{type(exc).__name__}: {exc}"
    return stages, versions, skipped


def word_crops(stages: dict, inputs) -> list:
    """Upright word crops: from the detector's words when it loaded, else from the GT quads."""
    from models.geometry import crop_quad
    from models.pipeline import CROP_HEIGHT

    images = [im for im, _ in inputs]
    pages = stages["detector"].detect(images) if "detector" in stages else [gt for _, gt in inputs]
    return [crop_quad(im, w.quad, height=CROP_HEIGHT) for im, p in zip(images, pages) for w in p.words]


# ------------------------------------------------------------------------------------------ worker
def _best_time(fn, repeat: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process's threads) of the fastest of `repeat` calls after a warm-up."""
    fn()                                       # warm-up (allocations, lazy init, oneDNN kernels)
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        best = min(best, (time.perf_counter() - t0, time.process_time() - c0))
    return best


def measure(stage: str, threads: int, device: str, n_pages: int, datasets: list[Path], weights_dir: Path,
            repeat: int) -> dict:
    """One measurement in this process; returns a result row (or a row with `skipped`)."""
    import torch

    torch.set_num_threads(threads)
    inputs = load_inputs(datasets, n_pages)
    images = [im for im, _ in inputs]
    row = {"stage": stage, "threads": threads, "device": device, "pages": n_pages}
    if stage == "baseline":
        return {**row, "peak_rss_mb": _rss_mb()}
    stages, versions, skipped = load_stages(weights_dir, device)
    row["model_versions"] = versions
    crops = word_crops(stages, inputs) if stage in ("script_id", "recognizer") else []
    if stage == "detector" and "detector" in stages:
        secs = _best_time(lambda: stages["detector"].detect(images), repeat)
    elif stage == "script_id" and "script_id" in stages:
        secs = _best_time(lambda: stages["script_id"].classify(crops), repeat)
    elif stage == "recognizer" and "recognizers" in stages:
        rec = stages["recognizers"].get("*") or next(iter(stages["recognizers"].values()))
        secs = _best_time(lambda: rec.recognize(crops), repeat)
    elif stage == "postocr" and "postocr" in stages:
        pages = [gt for _, gt in inputs]
        secs = _best_time(lambda: [_apply(stages["postocr"], p) for p in pages], repeat)
    elif stage == "pipeline" and "detector" in stages:
        from models.pipeline import Pipeline
        pipe = Pipeline(detector=stages["detector"], script_id=stages.get("script_id"),
                        recognizers=stages.get("recognizers", {}), stages=stages.get("postocr", []))
        secs = _best_time(lambda: pipe.run(images), repeat)
    else:
        need = {"recognizer": "recognizer", "pipeline": "detector"}.get(stage, stage)
        return {**row, "skipped": skipped.get(need, "not loaded")}
    secs, cpu = secs
    return {**row, "seconds": secs, "cpu_seconds": cpu, "pages_per_s": n_pages / secs, "s_per_page": secs / n_pages,
            "cpu_s_per_page": cpu / n_pages,
            "crops": len(crops) or None, "crops_per_s": (len(crops) / secs) if crops else None,
            "peak_rss_mb": _rss_mb()}


def _apply(stage_list, page):
    import copy
    page = copy.deepcopy(page)
    for st in stage_list:
        page = st(page)
    return page


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_worker(args) -> dict:
    """Spawn this script as a worker for one measurement and parse its JSON line."""
    cmd = [sys.executable, __file__, "--worker", args["stage"], "--threads", str(args["threads"]),
           "--device", args["device"], "--pages", str(args["pages"]), "--repeat", str(args["repeat"]),
           "--weights-dir", str(args["weights_dir"]), "--dataset", *map(str, args["datasets"])]
    env = dict(os.environ, OMP_NUM_THREADS=str(args["threads"]), MKL_NUM_THREADS=str(args["threads"]))
    proc = subprocess.run(["nice", "-n", "10", *cmd], capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        return {"stage": args["stage"], "threads": args["threads"], "device": args["device"],
                "skipped": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--pages", type=int, default=8, help="pages per stage measurement")
    ap.add_argument("--sweep", type=int, nargs="*", default=[1, 2, 4, 8, 16], help="page counts for the sweep")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--device", default=None, help="cpu or cuda (default: cpu, plus cuda when available)")
    ap.add_argument("--dataset", type=Path, nargs="+", default=DEFAULT_DATASETS)
    ap.add_argument("--weights-dir", type=Path, default=ROOT / "models" / "weights")
    ap.add_argument("--out", type=Path, default=RESULTS / "pipeline.json")
    ap.add_argument("--worker", choices=STAGES, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        print(json.dumps(measure(a.worker, a.threads[0], a.device or "cpu", a.pages, a.dataset, a.weights_dir,
                                 a.repeat)))
        return 0
    import torch
    devices = [a.device] if a.device else ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    base = {"pages": a.pages, "repeat": a.repeat, "weights_dir": a.weights_dir, "datasets": a.dataset}
    rows, sweep, skipped = [], [], {}
    for device in devices:
        for t in ([1] if device == "cuda" else a.threads):
            for stage in STAGES:
                r = run_worker({**base, "stage": stage, "threads": t, "device": device})
                print(json.dumps(r), file=sys.stderr)
                if "skipped" in r:
                    skipped[r["stage"]] = r["skipped"]
                else:
                    rows.append(r)
            if any(r["stage"] == "pipeline" for r in rows):
                for n in a.sweep:
                    r = run_worker({**base, "stage": "pipeline", "threads": t, "device": device, "pages": n,
                                    "repeat": 1})
                    if "seconds" in r:
                        sweep.append({"device": device, "threads": t, "pages": n, "seconds": r["seconds"],
                                      "cpu_seconds": r["cpu_seconds"], "pages_per_s": r["pages_per_s"]})
    first = next((r for r in rows if r.get("model_versions")), {})
    sizes = [im.shape[0] * im.shape[1] / 1e6 for im, _ in load_inputs(a.dataset, a.pages)]
    out = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "host": {"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version(),
                    "torch": torch.__version__},
           "device": ",".join(devices), "pages": a.pages, "mean_megapixels": sum(sizes) / len(sizes),
           "datasets": [str(d) for d in a.dataset], "model_versions": first.get("model_versions", {}),
           "stages": [{**r, "threads": f"{r['device']}:{r['threads']}"} for r in rows],
           "sweep": [{**r, "threads": f"{r['device']}:{r['threads']}"} for r in sweep], "skipped": skipped}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
