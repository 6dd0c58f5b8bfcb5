"""Recognizer training recipes on top of models.engine: config, data streams, phase step objects.

`train_recognizer(cfg, ...)` builds the model, the batch stream and the step object of `cfg.phase`
and hands them to models.engine.train (resumable checkpoints, named losses, log callback). Phases:
  supervised  CTC on rendered crops (endless fresh renders, or a fixed pool with a labelled fraction)
  seqclr      contrastive pre-training on unlabelled crops (no labels used)
  fixmatch    labelled CTC + pseudo-labelled strong views of unlabelled crops
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from models.engine import LogFn, SeededStream, TrainConfig, train, worker_batches
from models.recognition.charset import Charset
from models.recognition.data import WORD_CROP_PAD, CropSpec
from models.recognition.model import ColumnViTSTR, ColumnViTSTRConfig
from models.recognition.phases import FixMatch, SeqCLR, SeqCLRModel, SupervisedCTC
from models.recognition.sources import (CropPool, Source, labelled_batches, merged, mixed_source,
                                       unlabelled_batches, word_source)

PHASES = ("supervised", "seqclr", "fixmatch")


@dataclass(frozen=True)
class RecognizerTrainConfig:
    phase: str = "supervised"
    steps: int = 3000
    batch_size: int = 48
    lr: float = 1e-3
    warmup: int = 200
    dim: int = 160
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 2.0
    patch_width: int = 4
    height: int = 32
    dropout: float = 0.1
    stem: str = "conv"               # column embedding (model.py): "conv" reached held-out word acc 0.354
                                     # after 800 steps from scratch, "linear" was still at 0.000
    pool_size: int = 0               # 0: endless fresh renders; N: a fixed pool of N rendered crops
    label_fraction: float = 1.0      # with a pool: the labelled share (the rest is unlabelled)
    pool_script: str = ""            # only this script's crops, pooled or fresh ("" = the usual mix)
    unlabelled_batch: int = 48       # fixmatch / seqclr
    fixmatch_threshold: float = 0.9
    seqclr_instances: int = 5
    engine: str = "auto"             # crop renderer: synth | fallback | auto
    lowres_p: float = 0.0            # share of fresh crops scanned at low resolution (10-18 px high, often
                                     # bitonal: models.synth.crops.lowres_scan)
    loose_p: float = 0.0             # share of fresh crops with loose boxes (models.synth.crops.LOOSE_MARGINS)
    page_p: float = 0.0              # share of labelled crops cut from whole rendered pages (eval_sets.
                                     # page_crop_source: words, and a third of them text lines) instead
    print_p: float = 0.0             # share of fresh crops printed as a receipt printer's dot bitmap
                                     # (models.synth.crops.printed_render)
    double_p: float = 0.0            # share of those printed in the printer's double-width mode
    banner_p: float = 0.0            # share of fresh crops reversed out of a dark or stippled banner
                                     # (models.synth.crops.banner)
    margin_p: float = 0.0            # share of labelled crops whose left / right margins are drawn anew,
                                     # tight or wide (sources.remargin)
    rule_p: float = 0.0              # share of fresh crops that are separator rules (sources.rule_text)
    bf16: bool = True                # bf16 autocast for forward passes (CPU with native bf16)
    seed: int = 0
    log_every: int = 25
    ckpt_every: int = 100

    def __post_init__(self):
        if self.phase not in PHASES:
            raise ValueError(f"phase must be one of {PHASES}, got {self.phase!r}")
        if not 0 < self.label_fraction <= 1:
            raise ValueError("label_fraction must be in (0, 1]")
        for name in ("lowres_p", "loose_p", "page_p", "print_p", "double_p", "banner_p", "margin_p",
                     "rule_p"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")

    def model_config(self, charset: Charset) -> ColumnViTSTRConfig:
        return ColumnViTSTRConfig(num_classes=charset.num_classes, height=self.height, patch_width=self.patch_width,
                                  dim=self.dim, depth=self.depth, heads=self.heads, mlp_ratio=self.mlp_ratio,
                                  dropout=self.dropout, stem=self.stem)

    def crop_spec(self) -> CropSpec:
        return CropSpec(height=self.height, patch_width=self.patch_width)

    def engine_config(self, device: str = "cpu") -> TrainConfig:
        return TrainConfig(steps=self.steps, lr=self.lr, warmup=self.warmup, log_every=self.log_every,
                           ckpt_every=self.ckpt_every, seed=self.seed, device=device)


class Autocast:
    """Wrap a step object so its forward passes run under bf16 autocast (the loss stays float32)."""

    def __init__(self, step: Callable, enabled: bool, device_type: str = "cpu"):
        self.step, self.enabled, self.device_type = step, enabled, device_type

    def __call__(self, model, batch):
        with torch.autocast(self.device_type, dtype=torch.bfloat16, enabled=self.enabled):
            return self.step(model, batch)


def split_pool(pool: CropPool, label_fraction: float, seed: int) -> tuple[CropPool, CropPool]:
    """(labelled, unlabelled) parts of a pool: a seeded random label_fraction is labelled."""
    order = np.random.default_rng(seed).permutation(len(pool))
    k = max(1, int(round(len(pool) * label_fraction)))
    return pool.subset(sorted(order[:k])), pool.subset(sorted(order[k:]) or sorted(order[:k]))


def make_batches(cfg: RecognizerTrainConfig, charset: Charset, pool: CropPool | None = None,
                 unlabelled: Source | None = None, stream_seed: int | None = None):
    """The batch stream of a phase. Labelled data: the pool's labelled part, else fresh renders;
    unlabelled data: `unlabelled`, else the pool's unlabelled part, else fresh renders. `stream_seed`
    (default cfg.seed) seeds the draws only: the pool's labelled split always follows cfg.seed."""
    spec = cfg.crop_spec()
    seed = cfg.seed if stream_seed is None else stream_seed
    if pool is not None:
        lab, unl = split_pool(pool, cfg.label_fraction, cfg.seed)
        lab_src, unl_src = lab.as_source(), unl.as_source()
    elif cfg.pool_script:           # one script's words: a per-script model, or a specialised fine-tune
        from models.recognition.eval_sets import script_source
        lab_src = unl_src = script_source("train", cfg.pool_script, cfg.engine)
    else:
        lab_src = unl_src = word_source("train", engine=cfg.engine, lowres_p=cfg.lowres_p, loose_p=cfg.loose_p,
                                          print_p=cfg.print_p, banner_p=cfg.banner_p, double_p=cfg.double_p,
                                          rule_p=cfg.rule_p)
        if cfg.page_p:
            from models.recognition.eval_sets import page_crop_source
            lab_src = mixed_source(lab_src, page_crop_source("train", pad=(0.04, 0.2), lines=1 / 3,
                                                             height=cfg.height), cfg.page_p)
    unl_src = unlabelled or unl_src
    if cfg.phase == "supervised":
        return labelled_batches(lab_src, charset, spec, cfg.batch_size, seed, margin_p=cfg.margin_p)
    if cfg.phase == "seqclr":
        return unlabelled_batches(unl_src, spec, cfg.unlabelled_batch, seed + 1)
    return merged(labelled_batches(lab_src, charset, spec, cfg.batch_size, seed, margin_p=cfg.margin_p),
                  unlabelled_batches(unl_src, spec, cfg.unlabelled_batch, seed + 1))


def make_step(cfg: RecognizerTrainConfig, charset: Charset, device_type: str = "cpu"):
    if cfg.phase == "supervised":
        step = SupervisedCTC()
    elif cfg.phase == "seqclr":
        step = SeqCLR(instances=cfg.seqclr_instances, seed=cfg.seed)
    else:
        step = FixMatch(charset, threshold=cfg.fixmatch_threshold, seed=cfg.seed)
    return Autocast(step, cfg.bf16, device_type)


def train_recognizer(cfg: RecognizerTrainConfig, *, charset: Charset | None = None, pool: CropPool | None = None,
                     unlabelled: Source | None = None, init_state: dict | None = None,
                     ckpt_path: str | Path | None = None, log: LogFn | None = None,
                     device: str = "cpu", workers: int = 0) -> tuple[ColumnViTSTR, dict]:
    """Train one phase; returns (recognizer, summary of the last step). SeqCLR returns the pre-trained
    recognizer without its projection head. `init_state`: a recognizer state_dict to start from
    (e.g. SeqCLR's encoder; a CTC head of another shape is skipped). `workers` > 0 renders and batches in
    that many DataLoader processes, each drawing from its own seed (models.engine.SeededStream)."""
    charset = charset or Charset.default()
    model = ColumnViTSTR(cfg.model_config(charset))
    if init_state is not None:
        own = model.state_dict()
        model.load_state_dict({k: v for k, v in init_state.items() if k in own and own[k].shape == v.shape},
                              strict=False)
    trainee = SeqCLRModel(model) if cfg.phase == "seqclr" else model
    if workers:
        stream = SeededStream(lambda s: make_batches(cfg, charset, pool, unlabelled, stream_seed=s), cfg.seed)
        batches = worker_batches(stream, workers, device)
    else:
        batches = make_batches(cfg, charset, pool, unlabelled)
    summary = train(trainee, batches, cfg.engine_config(device), ckpt_path=ckpt_path, log=log,
                    step_fn=make_step(cfg, charset, torch.device(device).type))
    return model.eval(), summary


def weights_config(cfg: RecognizerTrainConfig, model: ColumnViTSTR, charset: Charset, extra: dict | None = None) -> dict:
    """The recipe stored next to shipped weights (read back by RecognitionPredictor.from_weights)."""
    spec = CropSpec(height=cfg.height, patch_width=cfg.patch_width,
                    max_width=model.cfg.max_tokens * model.cfg.patch_width)
    return {"architecture": {"name": "ColumnViTSTR", **model.cfg.to_dict()},
            "input": {**spec.to_dict(), "crop_pad": WORD_CROP_PAD}, "charset": charset.characters, "decoder": "ctc-greedy, blank=0",
            "training": dataclasses.asdict(cfg), **(extra or {})}
