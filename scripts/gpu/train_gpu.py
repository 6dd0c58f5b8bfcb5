"""Fine-tune the shipped detector and recognizer together on a lent GPU machine, for a wall-clock budget.

The GPU machine has torch, OpenCV, Pillow and fontTools but no MLflow, Spark, Faker or fonts: carry the
packed training fonts (scripts/gpu/pack_fonts.py, read through LAKEOCR_FONT_DIRS) and the Faker wheel
(scripts/gpu/device_run.sh does it). Each model trains in its own process, continuing from the weights in
models/weights, on fresh synthetic data rendered by its own DataLoader workers (models.engine.SeededStream:
one seed per worker), under bf16 autocast, with a cosine learning rate over the time budget and an EMA of
the weights. Every `--save-every` seconds and at the end a process writes `<out>/<model>.pt`
({"model", "ema", "step", "config"}) and appends its metrics to `<out>/<model>.jsonl`;
`scripts/gpu/import_run.py` logs such a run to MLflow here and writes weights from it.

    python3 scripts/gpu/train_gpu.py --out $OUT --minutes 6.5 --det-workers 8 --rec-workers 5
    python3 scripts/gpu/train_gpu.py --out /tmp/smoke --device cpu --minutes 0.3 --det-workers 1 --rec-workers 1
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def train_for(model, batches, step_fn, *, minutes: float, lr: float, warmup: int, device: str, out: Path,
              name: str, config: dict, save_every: float = 60.0, log_every: int = 50, ema_decay: float = 0.999):
    """Train until `minutes` have passed: AdamW, lr warm-up then cosine to 5% over the time budget, grad
    clip 5, EMA of weights and buffers; a step with a non-finite loss is skipped (and counted)."""
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    model.to(device).train()
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(ema_decay), use_buffers=True)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    t0 = time.monotonic()
    end, last_save, step, skipped = t0 + 60 * minutes, t0, 0, 0
    log = (out / f"{name}.jsonl").open("a")

    def save():
        state = {"model": {k: v.cpu() for k, v in model.state_dict().items()},
                 "ema": {k: v.cpu() for k, v in ema.module.state_dict().items()},
                 "step": step, "config": config}
        torch.save(state, out / f"{name}.tmp")
        (out / f"{name}.tmp").replace(out / f"{name}.pt")

    for batch in batches:
        now = time.monotonic()
        if now >= end:
            break
        scale = min(1.0, (step + 1) / warmup) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * (now - t0) / (end - t0))))
        for g in opt.param_groups:
            g["lr"] = lr * scale
        batch = {k: (v.to(device, non_blocking=True) if torch.is_tensor(v) else v) for k, v in batch.items()}
        losses = step_fn(model, batch)
        total = sum(losses.values())
        if not torch.isfinite(total):
            skipped += 1
            continue
        opt.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        ema.update_parameters(model)
        step += 1
        if step % log_every == 0:
            rec = {"step": step, "t": round(now - t0, 1), "lr": lr * scale, "loss": float(total.detach()),
                   **{k: float(v.detach()) for k, v in losses.items()}, "steps_per_s": step / (now - t0), "skipped": skipped}
            log.write(json.dumps(rec) + "\n")
            log.flush()
            print(name, json.dumps(rec), flush=True)
        if now - last_save > save_every:
            save()
            last_save = now
    save()
    print(name, f"done: {step} steps, {skipped} skipped, {time.monotonic() - t0:.0f} s", flush=True)


def run_detector(args) -> None:
    from models.detection import data as ddata
    from models.detection.predictor import DetectionPredictor
    from models.detection.model import FINE_STRIDE
    from models.detection.targets import TargetConfig
    from models.detection.training import make_step
    from models.engine import worker_batches

    shipped = DetectionPredictor.from_weights("detector", args.weights_dir)
    model = shipped.model.cpu().train()
    dcfg = ddata.DataConfig(max_side=shipped.config.max_side, crop=args.det_crop, batch_size=args.det_batch,
                            mean=model.cfg.mean, std=model.cfg.std)
    # a detector with the fine stride-2 character head trains jointly (its fine maps too), else the trunk
    # would move under a fine head that reads it and no longer trains (models.detection.training)
    joint = model.fine is not None
    fine = TargetConfig(stride=FINE_STRIDE, min_sigma=args.det_min_sigma) if joint else None
    batches = worker_batches(ddata.batch_stream(ddata.synth_source("train"), dcfg, seed=args.seed, fine=fine),
                             args.det_workers, args.device, prefetch=4)
    model = model.to(memory_format=torch.channels_last)          # workers are forked before CUDA starts
    config = {"init": shipped.version, "crop": args.det_crop, "batch_size": args.det_batch, "lr": args.det_lr,
              "minutes": args.minutes, "workers": args.det_workers, "seed": args.seed, "source": "synth train",
              "max_side": dcfg.max_side, "scale_range": list(dcfg.scale_range), "bf16": True, "ema": 0.999,
              **({"joint": True, "fine_min_sigma": args.det_min_sigma} if joint else {})}
    train_for(model, batches, make_step(bf16=True, joint=joint), minutes=args.minutes, lr=args.det_lr, warmup=100,
              device=args.device, out=args.out, name="det", config=config, log_every=25)


def run_recognizer(args) -> None:
    from models.engine import SeededStream, worker_batches
    from models.recognition.predictor import RecognitionPredictor
    from models.recognition.training import RecognizerTrainConfig, make_batches, make_step

    shipped = RecognitionPredictor.from_weights("recognizer", args.weights_dir, precision="fp32")
    model, charset = shipped.model.cpu().train(), shipped.charset
    # the supervised stream of `lakeocr train recognizer`
    cfg = RecognizerTrainConfig(batch_size=args.rec_batch, height=model.cfg.height, patch_width=model.cfg.patch_width,
                                engine="synth", lowres_p=args.lowres_p, loose_p=args.loose_p, page_p=args.page_p,
                                print_p=args.print_p, double_p=args.double_p, banner_p=args.banner_p,
                                margin_p=args.margin_p, rule_p=args.rule_p, bf16=True, seed=args.seed)
    stream = SeededStream(lambda s: make_batches(cfg, charset, stream_seed=s), args.seed)
    batches = worker_batches(stream, args.rec_workers, args.device, prefetch=4)
    config = {"init": shipped.version, "batch_size": args.rec_batch, "lr": args.rec_lr, "minutes": args.minutes,
              "workers": args.rec_workers, "seed": args.seed, "lowres_p": args.lowres_p, "loose_p": args.loose_p,
              "page_p": args.page_p, "print_p": args.print_p, "double_p": args.double_p, "banner_p": args.banner_p,
              "margin_p": args.margin_p, "rule_p": args.rule_p, "bf16": True, "ema": 0.999,
              "source": "synth train words + 15% lines" + (f", {args.page_p:.0%} page crops" if args.page_p else "")}
    step = make_step(cfg, charset, torch.device(args.device).type)
    train_for(model, batches, step, minutes=args.minutes, lr=args.rec_lr, warmup=200, device=args.device,
              out=args.out, name="rec", config=config, log_every=100)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--only", choices=("det", "rec"), help="run one model in this process (else both, in two)")
    p.add_argument("--models", default="det,rec")
    p.add_argument("--device", default="cuda")
    p.add_argument("--weights-dir", type=Path, default=ROOT / "models" / "weights",
                   help="the weights each model continues from (a folder import_run.py wrote, carried along)")
    p.add_argument("--minutes", type=float, default=6.5)
    p.add_argument("--seed", type=int, default=101)
    p.add_argument("--det-workers", type=int, default=8)
    p.add_argument("--det-batch", type=int, default=32)
    p.add_argument("--det-crop", type=int, default=384)
    p.add_argument("--det-lr", type=float, default=1e-3)
    p.add_argument("--det-min-sigma", type=float, default=1.0,
                   help="smallest centre Gaussian of the fine stride-2 maps, in cells (joint training)")
    p.add_argument("--rec-workers", type=int, default=5)
    p.add_argument("--rec-batch", type=int, default=192)
    p.add_argument("--rec-lr", type=float, default=5e-4)
    p.add_argument("--lowres-p", type=float, default=0.2)
    p.add_argument("--loose-p", type=float, default=0.3)
    p.add_argument("--page-p", type=float, default=0.0,
                   help="share of crops cut from whole rendered pages (0.3 in the shipped recognizer's fine-tune)")
    p.add_argument("--print-p", type=float, default=0.0,
                   help="share of crops printed as a receipt printer's dot bitmap (models.synth.crops.printed_render)")
    p.add_argument("--double-p", type=float, default=0.0, help="share of printed crops in double-width mode")
    p.add_argument("--banner-p", type=float, default=0.0, help="share of fresh crops reversed out of a banner")
    p.add_argument("--margin-p", type=float, default=0.0, help="share of crops with tight or wide side margins")
    p.add_argument("--rule-p", type=float, default=0.0, help="share of crops that are separator rules (-----, ====)")
    args, rest = p.parse_known_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.only:
        torch.set_num_threads(2)
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        (run_detector if args.only == "det" else run_recognizer)(args)
        return 0
    argv = sys.argv[1:] if argv is None else argv
    procs = {m: subprocess.Popen([sys.executable, __file__, *argv, "--only", m],
                                 stdout=(args.out / f"{m}.log").open("w"), stderr=subprocess.STDOUT)
             for m in args.models.split(",")}
    codes = {m: pr.wait() for m, pr in procs.items()}
    print(json.dumps({"exit_codes": codes}), flush=True)
    return max(codes.values())


if __name__ == "__main__":
    sys.exit(main())
