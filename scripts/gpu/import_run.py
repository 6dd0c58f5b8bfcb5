"""Bring a run of scripts/gpu/train_gpu.py home: weights folders to evaluate, then ship; MLflow logging.

    .venv/bin/python scripts/gpu/import_run.py RUN_DIR --out build/gpu/ema              # EMA weights
    .venv/bin/python scripts/gpu/import_run.py RUN_DIR --out build/gpu/raw --state model
    .venv/bin/python scripts/gpu/import_run.py RUN_DIR --out models/weights --models rec --mlflow

`--out` gets a full weights folder (a copy of models/weights with the run's detector and/or recognizer
written by models.weights.save_weights), so `--weights-dir` of any bench or `lakeocr evaluate` reads it.
The shipped detector's decode settings and flip classifier and the shipped recognizer's recipe are kept;
the run's config goes into the JSON under "gpu_run". `--mlflow` logs each model's run (params, per-step
metrics from <model>.jsonl, the written weights) to the local MLflow store.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from models.weights import WEIGHTS_DIR, load_weights, save_weights  # noqa: E402

_SHORT = {"detector": "det", "recognizer": "rec"}


def export(ck: dict, name: str, out: Path, state_key: str, base: Path = WEIGHTS_DIR) -> Path:
    """Write `ck[state_key]` (a train_gpu.py checkpoint) as `name` weights in `out`, with the recipe of the
    weights the run started from (`base`, train_gpu.py's --weights-dir); an earlier GPU run of that recipe
    moves to "earlier_gpu_runs"."""
    state = ck[state_key]
    shipped_state, base_meta = load_weights(name, base)
    if name == "detector":        # the shipped file also holds the flip classifier: keep it
        state = {**shipped_state, **state}
    missing = set(shipped_state) - set(state)
    if missing:
        raise ValueError(f"{name}: the run's state lacks {sorted(missing)[:5]}")
    meta = {k: v for k, v in base_meta.items() if k not in ("sha256", "size_bytes")}
    if "gpu_run" in meta:
        meta["earlier_gpu_runs"] = [*meta.get("earlier_gpu_runs", []), meta.pop("gpu_run")]
    meta["trained_steps"] = int(meta.get("trained_steps", 0)) + int(ck["step"])
    meta["gpu_run"] = {**ck["config"], "steps": int(ck["step"]), "state": state_key}
    meta["init"] = ck["config"].get("init", meta.get("init"))
    return save_weights(name, {k: state[k] for k in shipped_state}, meta, out)


def log_mlflow(run: Path, name: str, ck: dict, pt: Path) -> None:
    import mlflow
    from jobs.mlflow_log import training_run

    short = _SHORT[name]
    with training_run(name, {**ck["config"], "steps": ck["step"], "where": "gpu (scripts/gpu/train_gpu.py)"},
                      run_name=f"{name}-gpu") as (log, _):
        for line in (run / f"{short}.jsonl").read_text().splitlines():
            rec = json.loads(line)
            log(int(rec.pop("step")), {k: v for k, v in rec.items() if isinstance(v, (int, float))})
        mlflow.log_artifact(str(pt))
        mlflow.log_artifact(str(pt.with_suffix(".json")))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path, help="the folder train_gpu.py wrote (det.pt, rec.pt, *.jsonl)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--models", default="det,rec")
    p.add_argument("--state", choices=("ema", "model"), default="ema")
    p.add_argument("--mlflow", action="store_true")
    p.add_argument("--base", type=Path, default=WEIGHTS_DIR,
                   help="the weights the run started from (train_gpu.py --weights-dir): their recipe is kept")
    args = p.parse_args(argv)
    if args.out.resolve() != WEIGHTS_DIR.resolve():
        if args.out.exists():
            shutil.rmtree(args.out)
        shutil.copytree(args.base, args.out)
    for short in args.models.split(","):
        name = {v: k for k, v in _SHORT.items()}[short]
        ck = torch.load(args.run / f"{short}.pt", map_location="cpu", weights_only=False)
        pt = export(ck, name, args.out, args.state, args.base)
        print(f"{name}: {pt} ({json.loads(pt.with_suffix('.json').read_text())['sha256'][:12]})")
        if args.mlflow:
            log_mlflow(args.run, name, ck, pt)
    return 0


if __name__ == "__main__":
    sys.exit(main())
