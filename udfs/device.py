"""Where a worker runs the models: its device.

On a Spark GPU executor each task is given GPU addresses (`spark.task.resource.gpu.amount`); the worker
uses the first one it was given. Without a task context (tests, a plain Python loop) it uses `cuda:0` when
CUDA is present, else the CPU.

The numeric precision is not set here: `OcrConfig.precision` goes to every predictor when the pipeline is
loaded (models.zoo.load_pipeline, models.precision).
"""
from __future__ import annotations


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

