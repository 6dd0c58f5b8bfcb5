"""`lakeocr train script`: train the script identifier (tiny CNN, models.script_id), log to MLflow,
check it on held-out fonts (accuracy + confusion matrix) and write `script_id.pt/.json`."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from models.engine import TrainConfig, train
from models.recognition.data import WORD_CROP_PAD, CropSpec
from models.script_id.model import ScriptCNN, ScriptCNNConfig
from models.weights import WEIGHTS_DIR, save_weights


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine", choices=("auto", "synth", "fallback"), default="auto")
    parser.add_argument("--eval-per-class", type=int, default=500)
    parser.add_argument("--ckpt", type=Path)
    parser.add_argument("--init", type=Path, help="script_id state_dict / checkpoint to start from")
    parser.add_argument("--name", default="script_id")
    parser.add_argument("--weights-dir", type=Path, default=WEIGHTS_DIR)
    parser.add_argument("--experiment", default="script_id")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--log-every", type=int, default=50)
    parser.add_argument("--widths", type=int, nargs="+", default=list(ScriptCNNConfig.widths),
                        help="channels of the CNN's stages")


def run(args) -> int:
    from jobs.mlflow_log import training_run
    import mlflow
    from models.script_id import training as st
    from models.script_id.predictor import ScriptPredictor

    torch.set_num_threads(args.threads)
    cfg = ScriptCNNConfig(widths=tuple(args.widths))
    model = ScriptCNN(cfg)
    if args.init is not None:
        state = torch.load(args.init, map_location="cpu", weights_only=False)
        model.load_state_dict(state.get("model", state))
    spec = CropSpec(height=cfg.height, patch_width=model.stride, max_width=cfg.max_width)
    tcfg = TrainConfig(steps=args.steps, lr=args.lr, warmup=min(100, args.steps // 10 + 1),
                       log_every=args.log_every, ckpt_every=200, seed=args.seed)
    params = {**{k: v for k, v in vars(args).items() if not k.startswith("_")}, **cfg.to_dict(), "mix": st.MIX}
    with training_run(args.experiment, params, run_name=args.name) as (log, _run):
        def log_print(step: int, metrics: dict) -> None:
            log(step, metrics)
            print(f"step {step} " + " ".join(f"{k}={v:.4g}" for k, v in metrics.items()), flush=True)

        summary = train(model, st.batches(st.sampler("train", args.engine), spec, args.batch_size, args.seed), tcfg,
                        ckpt_path=args.ckpt, log=log_print, step_fn=st.script_step)
        config = {"architecture": {"name": "ScriptCNN", **cfg.to_dict()}, "input": {**spec.to_dict(), "crop_pad": WORD_CROP_PAD},
                  "trained_steps": summary["step"], "mix": st.MIX}
        pt = save_weights(args.name, model.state_dict(), config, args.weights_dir)
        mlflow.log_artifact(str(pt))
        if args.eval_per_class:
            crops, labels = st.held_out(args.eval_per_class, engine=args.engine)
            pred = [s for s, _ in ScriptPredictor.from_weights(args.name, args.weights_dir).classify(crops)]
            acc = sum(p == t for p, t in zip(pred, labels)) / len(labels)
            cm = st.confusion(pred, labels)
            mlflow.log_metric("eval_accuracy", acc)
            mlflow.log_text(json.dumps({"rows_true_cols_pred": list(cfg.classes), "matrix": cm.tolist()}),
                            "confusion.json")
            print(f"eval accuracy {acc:.4f} on {len(labels)} held-out crops; confusion (rows true, cols pred "
                  f"{list(cfg.classes)}):\n{cm}", flush=True)
        print(f"weights {pt} after {summary['step']} steps", flush=True)
    return 0
