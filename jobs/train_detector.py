"""`lakeocr train detector`: train the text detector, log it to MLflow, write the shipped weights.

    # 1. pre-render synthetic pages into a cache (run it in the background: training reads it as it grows)
    lakeocr train detector --write-cache build/detector/cache --cache-pages 1000
    # 2. train from that cache (resumes from --ckpt when it exists; --minutes stops on time)
    lakeocr train detector --cache build/detector/cache --steps 6500 --bf16 --workers 1
    # 3. the up/down word classifier (minutes), then ship both in models/weights/detector.*
    lakeocr train detector --cache build/detector/cache --train-flip build/detector/flip.pt --flip-steps 2500
    lakeocr train detector --export-only --flip build/detector/flip.pt --weights-dir models/weights
    # 3b. the fine stride-2 character head on top of the shipped detector, whose other weights stay frozen
    lakeocr train detector --init models/weights/detector.pt --fine-head --min-sigma 1.0 --steps 4000 --bf16 \
        --workers 1 --seed 8 --ckpt build/detector/fine.ckpt --weights-dir build/detector/fine
    # 3c. every head and the trunk together, the fine head's stride-2 character maps included (a GPU's job:
    #     the trunk learns features for thin characters and punctuation, and the fine head keeps up with it)
    lakeocr train detector --init models/weights/detector.pt --joint --min-sigma 1.0 --lr 2e-4 --steps 3000 \
        --bf16 --workers 1 --ckpt build/detector/joint.ckpt --weights-dir build/detector/joint
    # 4. held-out synthetic pages (eval fonts, every kind, four rotations, degraded)
    lakeocr train detector --eval-only --eval-pages 48 --eval-cache build/detector/heldout
    #    the same pages scored on the words the pipeline outputs (read, and split where read with a space)
    lakeocr train detector --eval-only --eval-pages 48 --eval-cache build/detector/heldout --eval-pipeline

Params, per-step losses and the final weights go to MLflow (jobs/mlflow_log.py); the data pipeline itself
lives in models/detection/data.py.
"""
from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import time
from pathlib import Path

import numpy as np
import torch

from models.detection import data as ddata
from models.detection.decode import DecodeConfig
from models.detection.model import FINE_STRIDE, Detector, DetectorConfig, count_parameters
from models.detection.predictor import DetectionPredictor, PredictorConfig
from models.detection.targets import TargetConfig
from models.detection.training import freeze_trunk, make_step
from models.engine import TrainConfig, load_checkpoint, train, worker_batches
from models.types import Page
from models.weights import WEIGHTS_DIR, save_weights


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(t) for t in text.split(",") if t)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dpi", type=_ints, default=(110, 200), metavar="LO,HI",
                        help="synthetic pages are rendered at a dpi drawn from this range (office scans: ~100)")
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
    parser.add_argument("--max-side", type=int, default=None,
                        help=f"pages' long side for training (default {PredictorConfig.max_side}) and for the "
                        "written predictor (default: the --init weights' setting)")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--widths", type=_ints, default=DetectorConfig.widths)
    parser.add_argument("--blocks", type=_ints, default=DetectorConfig.blocks)
    parser.add_argument("--fpn-width", type=int, default=DetectorConfig.fpn_width)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (the engine moves model and batches)")
    parser.add_argument("--workers", type=int, default=0, help="data worker processes (0 = in the training process)")
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast + channels_last (AMX CPUs, GPUs)")
    parser.add_argument("--log-every", type=int, default=20)
    parser.add_argument("--ckpt-every", type=int, default=200)
    parser.add_argument("--ckpt", default="build/detector/ckpt.pt")
    parser.add_argument("--weights-dir", default=str(WEIGHTS_DIR))
    parser.add_argument("--eval-pages", type=int, default=8, help="synthetic eval pages scored at the end")
    parser.add_argument("--experiment", default="detector")
    parser.add_argument("--center-thr", type=float, help="shipped decode setting (default: the --init weights' "
                        f"or {DecodeConfig.center_thr})")
    parser.add_argument("--link-thr", type=float, help="shipped decode setting (default: the --init weights' "
                        f"or {DecodeConfig.link_thr})")
    parser.add_argument("--export-only", action="store_true",
                        help="write the weights of the current --ckpt to --weights-dir, no training")
    parser.add_argument("--eval-only", action="store_true",
                        help="score the weights in --weights-dir on held-out synthetic pages (--eval-pages)")
    parser.add_argument("--eval-save", metavar="DIR", help="with --eval-only: also save GT and predictions here")
    parser.add_argument("--eval-pipeline", action="store_true",
                        help="with --eval-only: score the pipeline's pages (models.zoo without post-OCR: words "
                             "read, and split where read with a space) instead of the detector's")
    parser.add_argument("--eval-cache", metavar="DIR", help="keep the rendered held-out pages here for reuse")
    parser.add_argument("--train-flip", metavar="OUT", help="only train the up/down word classifier "
                        "(models/detection/flip.py) for --flip-steps steps and save its state_dict to OUT")
    parser.add_argument("--flip-steps", type=int, default=2000)
    parser.add_argument("--init", metavar="PT", help="start from these weights: a shipped detector .pt (its "
                        "architecture, flip classifier, predictor and decode settings come along) or a training "
                        "checkpoint")
    parser.add_argument("--fine-head", action="store_true",
                        help="train only a fine stride-2 character head (DetectorConfig.char_stride=2) on top of "
                        "the --init detector, whose other weights stay frozen")
    parser.add_argument("--joint", action="store_true",
                        help="train every head and the trunk together from --init, with the fine stride-2 "
                        "character head's maps as well (a fine head is added when --init has none)")
    parser.add_argument("--min-sigma", type=float, default=TargetConfig.min_sigma,
                        help="smallest sigma of a character's centre Gaussian, in cells of the trained maps "
                        "(with --joint: of the fine maps; the stride-4 maps keep the default)")
    parser.add_argument("--flip", metavar="PT", help="a trained flip classifier (--train-flip OUT) to ship "
                        "inside the detector weights")


def _render_source(args) -> ddata.PageSource:
    return ddata.toy_source() if args.source == "toy" else ddata.synth_source("train", dpi_range=tuple(args.dpi))


def _source(args) -> ddata.PageSource:
    return ddata.CachedPages(args.cache) if args.cache else _render_source(args)


def _until(iterator, minutes: float):
    """Stop an iterator after `minutes` of wall time (0 = never)."""
    if minutes <= 0:
        return iterator
    end = time.monotonic() + 60 * minutes
    return itertools.takewhile(lambda _: time.monotonic() < end, iterator)


def heldout_pages(count: int, seed: int = 10_000, cache_dir: str | None = None,
                  dpi_range: tuple[int, int] | None = None) -> list[tuple[np.ndarray, Page]]:
    """Held-out synthetic pages: eval fonts, every kind and all four rotations in turn, degraded, the
    engine's own dpi range (or `dpi_range`), languages in turn. `cache_dir` keeps rendered pages (.npz)
    for the next call."""
    from models.detection.toy import rotate_page
    from models.gtio import page_from_dict, page_to_dict
    from models.synth.pages import LANGS, PAGE_KINDS

    sources: dict = {}
    out = []
    for i in range(count):
        path = Path(cache_dir) / f"heldout_{seed}_{i:04d}.npz" if cache_dir else None
        if path is not None and path.exists():
            with np.load(path) as z:
                out.append((z["image"], page_from_dict(json.loads(z["page"].tobytes().decode()))))
            continue
        kind, k, lang = PAGE_KINDS[i % len(PAGE_KINDS)], (i // len(PAGE_KINDS)) % 4, LANGS[i % len(LANGS)]
        if (kind, lang) not in sources:
            sources[kind, lang] = ddata.synth_source("eval", kinds=(kind,), langs=(lang,), rotate=False,
                                                     dpi_range=dpi_range)
        image, page = sources[kind, lang](np.random.default_rng([seed, i]))
        image, page = rotate_page(image, page, k) if k else (image, page)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(path, image=image, page=np.frombuffer(json.dumps(page_to_dict(page)).encode(), np.uint8))
        out.append((image, page))
    return out


class _PipelinePages:
    """`detect(images)` giving the pipeline's pages (words read, and split where read with a space): what
    --eval-pipeline scores in place of the detector's."""

    def __init__(self, pipeline):
        self.pipeline = pipeline

    def detect(self, images):
        return [self.pipeline.run([image])[0] for image in images]


def _quick_eval(predictor: DetectionPredictor, source_name: str, pages: int, seed: int,
                save_dir: str | None = None, cache_dir: str | None = None) -> dict:
    from models.detection.evaluate import evaluate_pages
    from models.gtio import save_page

    if source_name == "toy":
        rng = np.random.default_rng(seed + 10_000)
        samples = [ddata.toy_source()(rng) for _ in range(pages)]
    else:
        samples = heldout_pages(pages, seed + 10_000, cache_dir)
    preds = predictor.detect([im for im, _ in samples])
    if save_dir:
        from PIL import Image
        for i, ((image, gt), pred) in enumerate(zip(samples, preds)):
            Path(save_dir).mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(Path(save_dir) / f"page_{i:03d}.jpg", quality=85)
            save_page(gt, Path(save_dir) / f"page_{i:03d}.gt.json")
            save_page(pred, Path(save_dir) / f"page_{i:03d}.pred.json")
    return evaluate_pages(preds, [pg for _, pg in samples])


def _settings(args, init: DetectionPredictor | None) -> tuple[PredictorConfig, DecodeConfig]:
    """The written weights' predictor and decode settings: the --init detector's (a shipped weights file) or
    the defaults, with --max-side, --center-thr and --link-thr on top where given."""
    pcfg = init.config if init is not None else PredictorConfig()
    dcfg = init.decode_config if init is not None else DecodeConfig()
    if args.max_side:
        pcfg = dataclasses.replace(pcfg, max_side=args.max_side)
    given = {k: v for k, v in (("center_thr", args.center_thr), ("link_thr", args.link_thr)) if v is not None}
    return pcfg, dataclasses.replace(dcfg, **given)


def _steps(args, init: DetectionPredictor | None, step: int) -> dict:
    """The weights' training record: its steps, or with --fine-head the trunk's steps (from the --init
    weights' JSON) and the fine head's run, or with --joint all steps and the joint run."""
    if not (args.fine_head or args.joint):
        return {"trained_steps": step}
    prior = json.loads(Path(args.init).with_suffix(".json").read_text()) if init else {}
    trunk = prior.get("trained_steps")
    if args.joint:          # the fine head's own run (if --init had one) stays on record
        return {"trained_steps": (trunk or 0) + step, **{k: prior[k] for k in ("fine_head",) if k in prior},
                "joint": {"init": init.version if init else args.init, "steps": step, "lr": args.lr,
                          "batch_size": args.batch_size, "crop": args.crop, "min_sigma": args.min_sigma,
                          "seed": args.seed}}
    return {"trained_steps": trunk, "fine_head": {"init": init.version if init else args.init, "steps": step,
                                                   "lr": args.lr, "batch_size": args.batch_size, "crop": args.crop,
                                                   "min_sigma": args.min_sigma, "seed": args.seed}}


def _attach_flip(predictor: DetectionPredictor, path: str | None) -> None:
    if path:
        from models.detection.flip import FlipClassifier, FlipConfig
        flip = FlipClassifier(FlipConfig())
        flip.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        predictor.flip_model = flip.eval()


def _train_flip(args, training_run) -> int:
    """Train the up/down word classifier on GT word crops of the page source; log to MLflow."""
    from models.detection.flip import FlipClassifier, FlipConfig, flip_batches, flip_loss

    fcfg = FlipConfig()
    model = FlipClassifier(fcfg)
    tcfg = TrainConfig(steps=args.flip_steps, lr=3e-3, warmup=50, log_every=args.log_every, ckpt_every=200,
                       seed=args.seed)
    params = {"model": "flip", "steps": args.flip_steps, "batch_size": 64, "cache": args.cache,
              **{f"flip.{k}": v for k, v in fcfg.to_dict().items()}}
    with training_run(args.experiment, params, run_name="detector-flip") as (log, _run):
        def log_print(step: int, metrics: dict) -> None:
            log(step, metrics)
            print(f"flip step {step} " + " ".join(f"{k}={v:.4g}" for k, v in metrics.items()), flush=True)

        ckpt = Path(args.train_flip).with_suffix(".ckpt")
        train(model, flip_batches(_source(args), 64, fcfg, seed=args.seed), tcfg, ckpt_path=ckpt, log=log_print,
              step_fn=flip_loss)
        Path(args.train_flip).parent.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), args.train_flip)
    return 0


def run(args) -> int:
    torch.set_num_threads(args.threads)
    if args.write_cache:
        ddata.write_cache(_render_source(args), args.write_cache, args.cache_pages,
                          args.max_side or PredictorConfig.max_side, args.seed,
                          args.cache_start)
        return 0
    if args.eval_only:
        shipped = DetectionPredictor.from_weights("detector", args.weights_dir)
        scored = shipped
        if args.eval_pipeline:
            from models.zoo import load_pipeline
            scored = _PipelinePages(load_pipeline(args.weights_dir, with_postocr=False, detector=shipped))
        scores = _quick_eval(scored, args.source, args.eval_pages, args.seed, args.eval_save, args.eval_cache)
        print(json.dumps({"version": shipped.version, "pages": args.eval_pages, "pipeline": args.eval_pipeline,
                          **{k: round(float(v), 4) for k, v in scores.items()}}), flush=True)
        return 0
    from jobs.mlflow_log import training_run
    import mlflow

    if args.train_flip:
        return _train_flip(args, training_run)
    mcfg = DetectorConfig(widths=tuple(args.widths), blocks=tuple(args.blocks), fpn_width=args.fpn_width)
    init_flip = init = None
    if args.init:
        shipped_json = Path(args.init).with_suffix(".json")
        if shipped_json.exists():               # a shipped weights file: its own architecture and flip model
            init = DetectionPredictor.from_weights(Path(args.init).stem, Path(args.init).parent)
            mcfg, init_flip = init.model.cfg, init.flip_model
            state = init.model.state_dict()
        else:
            state = torch.load(args.init, map_location="cpu", weights_only=False)
            state = state.get("model", state)
    if args.fine_head and args.joint:
        raise SystemExit("--fine-head (the fine head alone) and --joint (everything) exclude each other")
    if args.fine_head or args.joint:
        if not args.init:
            raise SystemExit(f"--{'joint' if args.joint else 'fine-head'} trains on top of a detector: give it --init")
        mcfg = dataclasses.replace(mcfg, char_stride=FINE_STRIDE)
    model = Detector(mcfg)
    if args.init:
        missing, unexpected = model.load_state_dict(state, strict=not (args.fine_head or args.joint))
        if unexpected or any(not k.startswith("fine.") for k in missing):
            raise SystemExit(f"--init {args.init} does not fit: missing {missing}, unexpected {unexpected}")
    if args.fine_head:
        freeze_trunk(model)
    elif model.fine is not None and not args.export_only and not args.joint:
        print("note: the fine character head is not trained by this run; train it again with --fine-head "
              "on the weights it writes", flush=True)
    if args.export_only:
        ck = load_checkpoint(args.ckpt, model)
        predictor = DetectionPredictor(model, *_settings(args, init), flip_model=init_flip)
        _attach_flip(predictor, args.flip)
        with training_run(args.experiment, {"export_from": args.ckpt, "flip": args.flip, "step": ck["step"]},
                          run_name="detector-export"):
            pt = save_weights("detector", predictor.state_dict(),
                              {**predictor.config_dict(), **_steps(args, init, ck["step"]),
                               "params": count_parameters(model)},
                              args.weights_dir)
            mlflow.log_artifact(str(pt))
            mlflow.log_artifact(str(Path(pt).with_suffix(".json")))
        print(f"weights {pt} from {args.ckpt} at step {ck['step']}")
        return 0
    dcfg = ddata.DataConfig(max_side=0 if args.source == "toy" and not args.cache else
                            args.max_side or PredictorConfig.max_side,
                            crop=args.crop, batch_size=args.batch_size, mean=mcfg.mean, std=mcfg.std)
    tcfg = TrainConfig(steps=args.steps, lr=args.lr, log_every=args.log_every, ckpt_every=args.ckpt_every,
                       seed=args.seed, warmup=min(200, max(1, args.steps // 10)), device=args.device)
    params = {**vars(args), "params": count_parameters(model), **{f"arch.{k}": v for k, v in mcfg.to_dict().items()}}
    params = {k: v for k, v in params.items() if not k.startswith("_")}
    with training_run(args.experiment, params, run_name="detector") as (log, _run):
        def log_print(step: int, metrics: dict) -> None:
            log(step, metrics)
            print(f"step {step} " + " ".join(f"{k}={v:.4g}" for k, v in metrics.items()), flush=True)

        start = int(torch.load(args.ckpt, map_location="cpu", weights_only=False)["step"]) \
            if Path(args.ckpt).exists() else 0
        stream = ddata.batch_stream(_source(args), dcfg, seed=args.seed + start,      # a resumed run sees new crops
                                    tcfg=TargetConfig(stride=FINE_STRIDE if args.fine_head else mcfg.stride,
                                                      min_sigma=TargetConfig.min_sigma if args.joint
                                                      else args.min_sigma),
                                    fine=TargetConfig(stride=FINE_STRIDE, min_sigma=args.min_sigma)
                                    if args.joint else None)
        batches = worker_batches(stream, args.workers, args.device)
        if args.bf16:
            model = model.to(memory_format=torch.channels_last)
        result = train(model, _until(batches, args.minutes), tcfg, ckpt_path=args.ckpt, log=log_print,
                       step_fn=make_step(args.bf16, fine=args.fine_head, joint=args.joint))
        model = model.to(memory_format=torch.contiguous_format)
        model = model.cpu()
        predictor = DetectionPredictor(model, *_settings(args, init), flip_model=init_flip)
        _attach_flip(predictor, args.flip)
        config = {**predictor.config_dict(), **_steps(args, init, result["step"]), "params": count_parameters(model),
                  "data": {"source": "cache" if args.cache else args.source, "crop": args.crop,
                           "scale_range": list(dcfg.scale_range)}}
        pt = save_weights("detector", predictor.state_dict(), config, args.weights_dir)
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
