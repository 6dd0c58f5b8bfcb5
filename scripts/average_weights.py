"""Average two versions of a model's weights ("model soup"): a fine-tune and the weights it started from.

    .venv/bin/python scripts/average_weights.py models/weights build/rec_ft/run2/ckpt.pt --alpha 0.5 \
        --out models/weights --recipe '{"page_p": 0.3, "steps": 5000}' --mlflow

A fine-tune on new data (page crops, new symbols) moves the weights toward that data and away from what
the starting point did well; their average often keeps both (Wortsman et al., 2022). `A` is a weights
folder (`<name>.pt` + `.json`); `B` a weights folder or an engine checkpoint of the same architecture
(`models.engine`: {"model", "step", "config"}). The result is `(1 - alpha) * A + alpha * B` with A's JSON
(architecture, input, charset; a detector's input size, decode settings and flip classifier) plus a "soup"
entry naming both parents. `--mlflow` logs it as a run.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.weights import load_weights, save_weights  # noqa: E402


def load_b(path: Path, name: str) -> tuple[dict, dict]:
    """(state_dict, provenance) of a weights folder or an engine checkpoint."""
    if path.is_dir():
        state, cfg = load_weights(name, path)
        record = {k: cfg[k] for k in ("training", "gpu_run", "init", "trained_steps") if k in cfg}
        return state, {"version": str(cfg.get("sha256", ""))[:12], **record}
    ck = torch.load(path, map_location="cpu", weights_only=False)
    if "model" not in ck:
        raise ValueError(f"{path}: not an engine checkpoint (no 'model' entry)")
    return ck["model"], {"checkpoint": str(path), "step": ck.get("step"), "engine": ck.get("config")}


def average(a: dict, b: dict, alpha: float, from_b: tuple[str, ...] = ()) -> dict:
    """(1 - alpha) * a + alpha * b for floating tensors (others from a); the same keys and shapes. Tensors
    whose names start with one of `from_b` are B's as they are (e.g. the output layer, where only the
    fine-tune has learned classes the start never saw)."""
    if a.keys() != b.keys():
        raise ValueError(f"the two states differ in keys: {sorted(set(a) ^ set(b))[:5]}")
    out = {}
    for k, va in a.items():
        vb = b[k]
        if va.shape != vb.shape:
            raise ValueError(f"{k}: shapes differ, {tuple(va.shape)} vs {tuple(vb.shape)}")
        if k.startswith(from_b) and from_b:
            out[k] = vb
        else:
            out[k] = ((1 - alpha) * va.float() + alpha * vb.float()).to(va.dtype) if va.is_floating_point() else va
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", type=Path, help="weights folder of the starting point")
    ap.add_argument("b", type=Path, help="weights folder or engine checkpoint of the fine-tune")
    ap.add_argument("--name", default="recognizer")
    ap.add_argument("--alpha", type=float, default=0.5, help="weight of B")
    ap.add_argument("--from-b", nargs="*", default=[], metavar="PREFIX",
                    help="tensors whose names start with PREFIX are taken from B, not averaged (e.g. head.)")
    ap.add_argument("--out", type=Path, required=True, help="weights folder to write <name>.pt/.json into")
    ap.add_argument("--recipe", default="{}", help="JSON: how B was trained (kept in the soup entry)")
    ap.add_argument("--mlflow", action="store_true", help="log the result as an MLflow run")
    args = ap.parse_args(argv)
    if not 0 <= args.alpha <= 1:
        ap.error("--alpha must be in [0, 1]")
    state_a, cfg = load_weights(args.name, args.a)
    state_b, prov_b = load_b(args.b, args.name)
    state = average(state_a, state_b, args.alpha, tuple(args.from_b))
    version_a = str(cfg.get("sha256", ""))[:12]
    # what the predictors read (the recognizer's charset and decoder; the detector's input size, decode
    # thresholds, normalisation and flip classifier): A's
    model_keys = ("architecture", "input", "charset", "decoder", "predictor", "decode", "normalisation", "flip")
    history = {k: v for k, v in cfg.items() if k not in model_keys + ("sha256", "size_bytes")}
    cfg = {k: cfg[k] for k in model_keys if k in cfg}
    cfg["init"] = version_a
    cfg["soup"] = {"alpha": args.alpha, "a": version_a, "a_history": history, "b": prov_b,
                   "b_recipe": json.loads(args.recipe)}
    pt = save_weights(args.name, state, cfg, args.out)
    version = json.loads(pt.with_suffix(".json").read_text())["sha256"][:12]
    print(f"{pt}: version {version} = {1 - args.alpha:g} x {cfg['soup']['a']} + {args.alpha:g} x {args.b}")
    if args.mlflow:
        from jobs.mlflow_log import training_run
        import mlflow
        params = {"alpha": args.alpha, "a": cfg["soup"]["a"], "b": str(args.b), **json.loads(args.recipe)}
        with training_run(args.name, params, run_name=f"soup-{args.name}-{version}"):
            mlflow.log_artifact(str(pt))
            mlflow.log_artifact(str(pt.with_suffix(".json")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
