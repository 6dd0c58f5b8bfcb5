"""The recognizer's few-label ablation (issue 5): supervised vs SeqCLR pre-training vs FixMatch, same labels.

One fixed pool of rendered crops (`models.recognition.eval_sets.train_pool`, cached under .cache/recognizer),
of which `--label-fraction` is labelled (the same crops in every run: the split is seeded). From scratch,
the shipped architecture:
  A  supervised CTC on the labelled crops only                         (--steps)
  B  SeqCLR on every crop of the pool without labels (--steps), then A's recipe from those weights
  C  FixMatch from A's weights: labelled CTC + pseudo-labels on the rest (--steps)
Each is scored on the held-out synthetic crops (eval fonts) of its script; one JSON line per run goes to
stdout and to `--out`. Runs on whatever device `--device` names (a lent GPU: scripts/gpu/device_run.sh's
wheels and the two cached pools must travel with it).

    python3 scripts/gpu/ablation.py --device cuda --pool 6000 --script digits --steps 1000 --out $OUT/ablation.jsonl
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from models.recognition import eval_sets  # noqa: E402
from models.recognition.charset import Charset  # noqa: E402
from models.recognition.evaluate import evaluate_pool  # noqa: E402
from models.recognition.predictor import RecognitionPredictor  # noqa: E402
from models.recognition.training import RecognizerTrainConfig, train_recognizer  # noqa: E402

CACHE = ROOT / ".cache" / "recognizer"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--pool", type=int, default=6000)
    p.add_argument("--script", default="digits", choices=("", "digits", "latin", "hangul"))
    p.add_argument("--label-fraction", type=float, default=0.05)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=48)
    p.add_argument("--eval-per-script", type=int, default=1000)
    p.add_argument("--runs", default="A,B,C")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    charset = Charset.default()
    pool = eval_sets.train_pool(args.pool, 0, "auto", CACHE, args.script)
    held = eval_sets.synthetic_eval_pool(args.eval_per_script, CACHE)
    keep = [i for i, s in enumerate(held.scripts) if not args.script or s == args.script]
    held = held.subset(keep)
    base = RecognizerTrainConfig(steps=args.steps, batch_size=args.batch_size, unlabelled_batch=args.batch_size,
                                 pool_size=args.pool, label_fraction=args.label_fraction, lr=1e-3, warmup=100,
                                 bf16=False, log_every=10 ** 9, ckpt_every=10 ** 9, pool_script=args.script)
    models: dict[str, dict] = {}

    def run(name: str, phase: str, init: str | None = None, note: str = "") -> None:
        cfg = dataclasses.replace(base, phase=phase)
        t0 = time.time()
        model, summary = train_recognizer(cfg, charset=charset, pool=pool, device=args.device,
                                          init_state=models.get(init))
        seconds = time.time() - t0
        models[name] = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        row = {"run": name, "phase": phase, "init": init, "note": note, "steps": summary["step"],
               "labelled": round(args.pool * args.label_fraction), "pool": args.pool, "script": args.script or "all",
               "train_s": round(seconds, 1), "last_loss": round(summary.get("loss", float("nan")), 4)}
        if phase != "seqclr":
            pred = RecognitionPredictor(model.cpu(), charset, device=args.device, precision="fp32")
            scores = evaluate_pool(pred, held)
            row["heldout"] = {s: {k: round(v, 4) for k, v in d.items() if k in ("word_acc", "cer")}
                              for s, d in scores.items()}
        line = json.dumps(row)
        print(line, flush=True)
        if args.out:
            with args.out.open("a") as f:
                f.write(line + "\n")

    todo = args.runs.split(",")
    if "A" in todo or "C" in todo:
        run("A", "supervised", note="labelled crops only")
    if "B" in todo:
        run("B-pre", "seqclr", note="every crop of the pool, no labels")
        run("B", "supervised", init="B-pre", note="A's recipe from the SeqCLR encoder")
    if "C" in todo:
        run("C", "fixmatch", init="A", note="A + pseudo-labels on the unlabelled crops")
    return 0


if __name__ == "__main__":
    sys.exit(main())
