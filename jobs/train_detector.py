"""`lakeocr train detector`: train the text detector, log it to MLflow, write the shipped weights.

    # pre-render synthetic pages into a cache (can run in the background while training reads it)
    lakeocr train detector --write-cache build/detector_cache --cache-pages 3000
    # train from that cache (resumes from --ckpt when it exists), then ship models/weights/detector.*
    lakeocr train detector --cache build/detector_cache --steps 6000

Params, per-step losses and the final weights (+ a small synthetic evaluation) go to MLflow
(jobs/mlflow_log.py); the data pipeline itself lives in models/detection/data.py.
"""
from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
import torch

from models.detection import data as ddata
from models.detection.decode import DecodeConfig
from models.detection.model import Detector, DetectorConfig, count_parameters
from models.detection.predictor import DetectionPredictor, PredictorConfig
from models.detection.training import loss_step
from models.engine import TrainConfig, train
from models.weights import WEIGHTS_DIR, save_weights


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(t) for t in text.split(",") if t)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", choices=("synth", "toy"), default="synth",
                        help="page source when --cache is not given (toy: tiny PIL pages, for smoke runs)")
    parser.add_argument("--cache", help="train from pages pre-rendered in this folder (see --write-cache)")
    parser.add_argument("--write-cache", metavar="DIR", help="only render --cache-pages pages into DIR and exit")
    parser.add_argument("--cache-pages", type=int, default=2000)
    parser.add_argument("--cache-start", type=int, default=0, help="index of the first page to render")
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--minutes", type=float, default=0.0, help="stop after this many minutes (0 = no limit)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--max-side", type=int, default=PredictorConfig.max_side)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--widths", type=_ints, default=DetectorConfig.widths)
    parser.add_argument("--blocks", type=_ints, default=DetectorConfig.blocks)
    parser.add_argument("--fpn-width", type=int, default=DetectorConfig.fpn_width)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--log-every", type=int, default=20)
    parser.add_argument("--ckpt-every", type=int, default=200)
    parser.add_argument("--ckpt", default="build/detector/ckpt.pt")
    parser.add_argument("--weights-dir", default=str(WEIGHTS_DIR))
    parser.add_argument("--eval-pages", type=int, default=8, help="synthetic eval pages scored at the end")
    parser.add_argument("--experiment", default="detector")


def _source(args) -> ddata.PageSource:
    if args.cache:
        return ddata.CachedPages(args.cache)
    return ddata.toy_source() if args.source == "toy" else ddata.synth_source("train")


def _until(iterator, minutes: float):
    """Stop an iterator after `minutes` of wall time (0 = never)."""
    if minutes <= 0:
        return iterator
    end = time.monotonic() + 60 * minutes
    return itertools.takewhile(lambda _: time.monotonic() < end, iterator)


def _quick_eval(predictor: DetectionPredictor, source_name: str, pages: int, seed: int) -> dict:
    from models.detection.evaluate import evaluate_pages

    source = ddata.toy_source() if source_name == "toy" else ddata.synth_source("eval")
    rng = np.random.default_rng(seed + 10_000)
    samples = [source(rng) for _ in range(pages)]
    preds = predictor.detect([im for im, _ in samples])
    return evaluate_pages(preds, [pg for _, pg in samples])


def run(args) -> int:
    torch.set_num_threads(args.threads)
    if args.write_cache:
        src = ddata.toy_source() if args.source == "toy" else ddata.synth_source("train")
        ddata.write_cache(src, args.write_cache, args.cache_pages, args.max_side, args.seed, args.cache_start)
        return 0
    from jobs.mlflow_log import training_run
    import mlflow

    mcfg = DetectorConfig(widths=tuple(args.widths), blocks=tuple(args.blocks), fpn_width=args.fpn_width)
    model = Detector(mcfg)
    dcfg = ddata.DataConfig(max_side=0 if args.source == "toy" and not args.cache else args.max_side,
                            crop=args.crop, batch_size=args.batch_size, mean=mcfg.mean, std=mcfg.std)
    tcfg = TrainConfig(steps=args.steps, lr=args.lr, log_every=args.log_every, ckpt_every=args.ckpt_every,
                       seed=args.seed, warmup=min(200, max(1, args.steps // 10)))
    params = {**vars(args), "params": count_parameters(model), **{f"arch.{k}": v for k, v in mcfg.to_dict().items()}}
    params = {k: v for k, v in params.items() if not k.startswith("_")}
    with training_run(args.experiment, params, run_name="detector") as (log, _run):
        def log_print(step: int, metrics: dict) -> None:
            log(step, metrics)
            print(f"step {step} " + " ".join(f"{k}={v:.4g}" for k, v in metrics.items()), flush=True)

        batches = _until(ddata.batches(_source(args), dcfg, seed=args.seed), args.minutes)
        result = train(model, batches, tcfg, ckpt_path=args.ckpt, log=log_print, step_fn=loss_step)
        predictor = DetectionPredictor(model, PredictorConfig(max_side=args.max_side), DecodeConfig())
        config = {**predictor.config_dict(), "trained_steps": result["step"], "params": count_parameters(model),
                  "data": {"source": "cache" if args.cache else args.source, "crop": args.crop,
                           "scale_range": list(dcfg.scale_range)}}
        pt = save_weights("detector", model.state_dict(), config, args.weights_dir)
        mlflow.log_artifact(str(pt))
        mlflow.log_artifact(str(Path(pt).with_suffix(".json")))
        if args.eval_pages:
            shipped = DetectionPredictor.from_weights("detector", args.weights_dir)
            scores = _quick_eval(shipped, "toy" if args.source == "toy" and not args.cache else "synth",
                                 args.eval_pages, args.seed)
            mlflow.log_metrics({f"eval_{k}": float(v) for k, v in scores.items()})
            print("eval", {k: round(float(v), 4) for k, v in scores.items()}, flush=True)
        print(f"weights {pt} after {result['step']} steps", flush=True)
    return 0
