"""Where and how a worker runs the models: its device, its numeric precision, its torch threads.

On a Spark GPU executor each task is given GPU addresses (`spark.task.resource.gpu.amount`); the worker
uses the first one it was given. Without a task context (tests, a plain Python loop) it uses `cuda:0` when
CUDA is present, else the CPU.

Precision (a context around the whole pipeline): "auto" = fp16 autocast on GPU, nothing added on CPU, where
the predictors choose their own (models.precision: bf16 on a CPU with native bf16 for the detector and the
recognizer); "bf16" = bfloat16 autocast (CPU or GPU); "int8" = dynamic int8 quantisation of
Linear/LSTM/GRU layers (CPU only); "fp32" = nothing added.
"""
from __future__ import annotations

import contextlib

PRECISIONS = ("auto", "fp32", "fp16", "bf16", "int8")


def task_gpu_address() -> str | None:
    """The first GPU address Spark assigned to the running task, or None outside a GPU task."""
    try:
        from pyspark import TaskContext
    except ImportError:
        return None
    ctx = TaskContext.get()
    if ctx is None:
        return None
    gpus = ctx.resources().get("gpu")
    return gpus.addresses[0] if gpus is not None and gpus.addresses else None


def pick_device(prefer: str = "auto") -> str:
    """'cpu', or 'cuda:N' for the task's GPU. `prefer` = 'auto' | 'cpu' | 'cuda' | 'cuda:N'."""
    import torch

    if prefer == "cpu" or (prefer == "auto" and not torch.cuda.is_available()):
        return "cpu"
    if prefer.startswith("cuda:"):
        return prefer
    if not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but torch sees no CUDA device on this worker")
    address = task_gpu_address()
    return f"cuda:{address}" if address is not None else "cuda:0"


def precision_context(device: str, precision: str = "auto"):
    """A context manager that runs the models' forward passes in the requested precision."""
    import torch

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    on_gpu = device.startswith("cuda")
    if on_gpu and precision in ("auto", "fp16"):
        return torch.autocast("cuda", dtype=torch.float16)
    if precision == "bf16":
        return torch.autocast("cuda" if on_gpu else "cpu", dtype=torch.bfloat16)
    if precision == "fp16":
        raise ValueError("fp16 needs a GPU; use bf16 or int8 on CPU")
    return contextlib.nullcontext()


def quantize_int8(pipeline) -> int:
    """Dynamic int8 quantisation of every torch module held by the pipeline's stages (CPU only).
    Returns how many modules were quantised."""
    import torch
    from torch import nn

    stages = [pipeline.detector, pipeline.script_id, *pipeline.recognizers.values()]
    done = 0
    for stage in (s for s in stages if s is not None):
        for attr, value in list(vars(stage).items()):
            if isinstance(value, nn.Module):
                setattr(stage, attr, torch.ao.quantization.quantize_dynamic(
                    value, {nn.Linear, nn.LSTM, nn.GRU}, dtype=torch.qint8))
                done += 1
    return done
