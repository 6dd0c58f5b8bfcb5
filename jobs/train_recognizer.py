"""`lakeocr train recognizer`: train one phase of the column-ViTSTR recognizer, log it to MLflow,
evaluate it on held-out synthetic crops (eval fonts) and write the weights with their recipe.

Phases (see models.recognition.training): supervised | seqclr | fixmatch. Few-label ablations use a
fixed rendered pool (--pool-size) of which --label-fraction is labelled; --init starts from a state_dict
(e.g. the SeqCLR encoder) for fine-tuning.
"""
from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import torch

from models.recognition.charset import Charset
from models.recognition.training import PHASES, RecognizerTrainConfig, train_recognizer, weights_config
from models.weights import WEIGHTS_DIR, save_weights

CACHE_DIR = Path(__file__).resolve().parent.parent / ".cache" / "recognizer"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = RecognizerTrainConfig()
    parser.add_argument("--phase", choices=PHASES, default=d.phase)
    for name in ("steps", "batch_size", "dim", "depth", "heads", "patch_width", "pool_size", "unlabelled_batch",
                 "seed", "log_every", "ckpt_every", "warmup"):
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(d, name))
    for name in ("lr", "mlp_ratio", "label_fraction", "fixmatch_threshold", "dropout", "lowres_p",
                 "loose_p", "page_p", "print_p", "double_p", "banner_p", "margin_p", "rule_p"):
        parser.add_argument("--" + name.replace("_", "-"), type=float, default=getattr(d, name))
    parser.add_argument("--engine", choices=("auto", "synth", "fallback"), default=d.engine)
    parser.add_argument("--stem", choices=("linear", "conv"), default=d.stem, help="column embedding")
    parser.add_argument("--pool-script", default="", choices=("", "hangul", "latin", "digits"),
                        help="only this script's crops (a fixed pool with --pool-size, else fresh renders)")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast in training (CPU AMX, or --device cuda)")
    parser.add_argument("--unlabelled", choices=("words", "pages"), default="words",
                        help="fixmatch/seqclr unlabelled crops: rendered words or crops cut from synthetic pages")
    parser.add_argument("--init", type=Path, help="recognizer state_dict / checkpoint to start from")
    parser.add_argument("--ckpt", type=Path, help="resumable checkpoint path")
    parser.add_argument("--name", default="recognizer", help="weights name (recognizer = shared model)")
    parser.add_argument("--weights-dir", type=Path, default=WEIGHTS_DIR)
    parser.add_argument("--eval-per-script", type=int, default=300, help="held-out crops per script (0 = skip)")
    parser.add_argument("--experiment", default="recognizer")
    parser.add_argument("--run-name", default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--workers", type=int, default=0,
                        help="data worker processes rendering crops (0 = in the training process)")


def config_from_args(args) -> RecognizerTrainConfig:
    fields = {f.name for f in dataclasses.fields(RecognizerTrainConfig)}
    return RecognizerTrainConfig(**{k: v for k, v in vars(args).items() if k in fields})


def load_init(path: Path | None) -> dict | None:
    if path is None:
        return None
    state = torch.load(path, map_location="cpu", weights_only=False)
    state = state.get("model", state)
    if any(k.startswith("recognizer.") for k in state):      # a SeqCLR checkpoint: drop the projector
        state = {k[len("recognizer."):]: v for k, v in state.items() if k.startswith("recognizer.")}
    return state


def run(args) -> int:
    from jobs.mlflow_log import training_run
    import mlflow
    from models.recognition import eval_sets
    from models.recognition.evaluate import evaluate_pool
    from models.recognition.predictor import RecognitionPredictor

    torch.set_num_threads(args.threads)
    cfg, charset = config_from_args(args), Charset.default()
    pool = (eval_sets.train_pool(cfg.pool_size, cfg.seed, cfg.engine, CACHE_DIR, cfg.pool_script)
            if cfg.pool_size else None)
    unlabelled = eval_sets.page_crop_source("train") if args.unlabelled == "pages" else None
    params = {**dataclasses.asdict(cfg), "init": str(args.init), "unlabelled": args.unlabelled, "name": args.name}
    with training_run(args.experiment, params, run_name=args.run_name or f"{cfg.phase}-{args.name}") as (log, _run):
        def log_print(step: int, metrics: dict) -> None:
            log(step, metrics)
            print(f"step {step} " + " ".join(f"{k}={v:.4g}" for k, v in metrics.items()), flush=True)

        t0 = time.time()
        model, summary = train_recognizer(cfg, charset=charset, pool=pool, unlabelled=unlabelled,
                                          init_state=load_init(args.init), ckpt_path=args.ckpt, log=log_print,
                                          device=args.device, workers=args.workers)
        model = model.cpu()
        mlflow.log_metric("train_minutes", (time.time() - t0) / 60)
        config = weights_config(cfg, model, charset, {"trained_steps": summary["step"],
                                                      "init": str(args.init) if args.init else None})
        pt = save_weights(args.name, model.state_dict(), config, args.weights_dir)
        mlflow.log_artifact(str(pt))
        mlflow.log_artifact(str(pt.with_suffix(".json")))
        if args.eval_per_script and cfg.phase != "seqclr":
            held_out = eval_sets.synthetic_eval_pool(args.eval_per_script, CACHE_DIR, cfg.engine)
            scores = evaluate_pool(RecognitionPredictor.from_weights(args.name, args.weights_dir, precision="fp32"),
                                   held_out)
            flat = {f"eval_{s}_{k}": float(v) for s, d in scores.items() for k, v in d.items()
                    if k in ("cer", "word_acc")}
            mlflow.log_metrics(flat)
            print("eval", {k: round(v, 4) for k, v in flat.items()}, flush=True)
        print(f"weights {pt} after {summary['step']} steps", flush=True)
    return 0
