"""Train the entity tagger on synthetic pages (CPU, minutes):

    nice -n 10 python -m models.postocr.train_tagger --pages 800 --steps 1500 --out models/weights

Pages are rendered without image degradations (only words and GT are used), stripped to word boxes and
text, clustered with the default Clusterer (as at inference), half of them with simulated OCR errors.
Seeds: training pages use --seed (default 1); the benchmark's held-out pages use 12345.
"""
from __future__ import annotations

import argparse
import copy
import time

import numpy as np
import torch

from models.engine import TrainConfig, train
from models.postocr.cluster import Clusterer
from models.postocr.tagger import (TaggerConfig, TaggerNet, bio_targets, collate, encode_page,
                                   simulate_ocr_errors, tagger_config_dict)
from models.weights import WEIGHTS_DIR, save_weights


def training_examples(n: int, seed: int, cfg: TaggerConfig, noise: float = 0.03):
    from models.synth.pages import PAGE_KINDS, render_page
    rng = np.random.default_rng(seed)
    cluster = Clusterer()
    out = []
    for k in range(n):
        _img, gt = render_page(rng, kind=PAGE_KINDS[k % len(PAGE_KINDS)], lang="mixed", rotate=False, degrade=False)
        page = copy.deepcopy(gt)
        page.lines, page.blocks, page.links, page.entities = [], [], [], []
        page.meta = {}
        if k % 2:
            simulate_ocr_errors(page, rng, noise)
        cluster(page)
        order, feats = encode_page(page, cfg)
        out.append((feats, bio_targets(gt, order)))
    return out


def batches(examples, batch_size: int, rng: np.random.Generator):
    while True:
        for idx in np.array_split(rng.permutation(len(examples)), max(1, len(examples) // batch_size)):
            seqs = [examples[i] for i in idx]
            yield collate([s[0] for s in seqs], [s[1] for s in seqs])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pages", type=int, default=800)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default=str(WEIGHTS_DIR))
    p.add_argument("--name", default="ner_tagger")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    cfg = TaggerConfig()
    t0 = time.time()
    examples = training_examples(args.pages, args.seed, cfg)
    print(f"{len(examples)} pages encoded in {time.time() - t0:.0f}s", flush=True)
    net = TaggerNet(cfg)
    tc = TrainConfig(steps=args.steps, lr=3e-3, warmup=50, log_every=100, ckpt_every=10**9, seed=args.seed)
    t1 = time.time()
    train(net, batches(examples, args.batch, np.random.default_rng(args.seed)), tc,
          log=lambda s, m: print(f"step {s} loss {m['loss']:.4f} lr {m['lr']:.5f}", flush=True))
    n_params = sum(p.numel() for p in net.parameters())
    path = save_weights(args.name, net.state_dict(), {**tagger_config_dict(cfg), "params": n_params,
                        "train": {"pages": args.pages, "steps": args.steps, "seed": args.seed}}, args.out)
    print(f"trained in {time.time() - t1:.0f}s; {n_params} parameters; wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
