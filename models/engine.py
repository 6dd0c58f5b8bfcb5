"""One short, resumable training loop shared by every model (torchvision-references style).

The model's `forward(batch)` in train mode returns a dict of named loss terms; the loop sums them,
steps, logs through a callback (jobs/ passes an MLflow logger; models/ never imports MLflow) and stops on
a non-finite loss. A checkpoint holds model, optimizer, scheduler, step and config together.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch

LogFn = Callable[[int, dict[str, float]], None]


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 1000
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup: int = 100
    grad_clip: float = 5.0
    log_every: int = 20
    ckpt_every: int = 200
    seed: int = 0
    device: str = "cpu"


class SeededStream(torch.utils.data.IterableDataset):
    """An endless seeded generator `make(seed)` as an IterableDataset for a DataLoader with
    `batch_size=None`: each worker process draws from its own seed (`seed + 1_000_003 * worker id`; worker 0
    and the no-worker case use `seed` itself), so N workers never produce the same batches. Workers run
    one torch thread each."""

    def __init__(self, make: Callable[[int], Iterator[dict]], seed: int = 0):
        super().__init__()
        self.make, self.seed = make, seed

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        if info is not None:
            torch.set_num_threads(1)
        return self.make(self.seed + 1_000_003 * (info.id if info is not None else 0))


def worker_batches(stream: SeededStream, workers: int, device: str = "cpu",
                   prefetch: int | None = None) -> Iterator[dict]:
    """Batches of `stream` from `workers` DataLoader processes (kept alive; pinned memory for a GPU), or from
    this process when `workers` is 0. Call it before the model touches CUDA: workers are forked here."""
    loader = torch.utils.data.DataLoader(
        stream, batch_size=None, num_workers=workers, persistent_workers=workers > 0,
        pin_memory=workers > 0 and torch.device(device).type == "cuda",
        prefetch_factor=prefetch if workers else None)
    return iter(loader)


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig):
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)

    def lr_lambda(step: int) -> float:     # linear warm-up, cosine decay to 5%
        if step < cfg.warmup:
            return (step + 1) / max(1, cfg.warmup)
        t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)


def save_checkpoint(path: str | Path, model, opt, sched, step: int, cfg: TrainConfig, extra: dict | None = None):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                "step": step, "config": dataclasses.asdict(cfg), "extra": extra or {}}, tmp)
    tmp.replace(path)   # atomic: a crash never leaves half a checkpoint


def load_checkpoint(path: str | Path, model, opt=None, sched=None) -> dict:
    ck = torch.load(path, map_location="cpu", weights_only=False)
    model.load_state_dict(ck["model"])
    if opt is not None:
        opt.load_state_dict(ck["optimizer"])
    if sched is not None:
        sched.load_state_dict(ck["scheduler"])
    return ck


def train(model: torch.nn.Module, batches: Iterator[dict], cfg: TrainConfig, *,
          ckpt_path: str | Path | None = None, log: LogFn | None = None,
          step_fn: Callable[[torch.nn.Module, dict], dict[str, torch.Tensor]] | None = None) -> dict:
    """Train until cfg.steps; resumes from ckpt_path when it exists. `step_fn(model, batch)` returns the
    loss dict (default: `model(batch)`), so phases such as SeqCLR or FixMatch are objects, not branches."""
    torch.manual_seed(cfg.seed)
    device = torch.device(cfg.device)
    model.to(device).train()
    opt, sched = make_optimizer(model, cfg)
    step = 0
    if ckpt_path is not None and Path(ckpt_path).exists():
        step = int(load_checkpoint(ckpt_path, model, opt, sched)["step"])
    step_fn = step_fn or (lambda m, b: m(b))
    t0, last = time.perf_counter(), {}
    for batch in batches:
        if step >= cfg.steps:
            break
        batch = {k: (v.to(device, non_blocking=True) if torch.is_tensor(v) else v) for k, v in batch.items()}
        losses = step_fn(model, batch)
        total = sum(losses.values())
        if not torch.isfinite(total):
            raise FloatingPointError(f"non-finite loss at step {step}: { {k: float(v) for k, v in losses.items()} }")
        opt.zero_grad(set_to_none=True)
        total.backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        sched.step()
        step += 1
        last = {"loss": float(total.detach()), **{k: float(v.detach()) for k, v in losses.items()}, "lr": sched.get_last_lr()[0]}
        if log is not None and (step % cfg.log_every == 0 or step == cfg.steps):
            log(step, {**last, "steps_per_s": step / max(1e-9, time.perf_counter() - t0)})
        if ckpt_path is not None and (step % cfg.ckpt_every == 0 or step == cfg.steps):
            save_checkpoint(ckpt_path, model, opt, sched, step, cfg)
    model.eval()
    return {"step": step, **last}
