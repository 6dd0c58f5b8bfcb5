"""Reduced precision at inference, shared by the predictors (each owns its own precision).

    fp32   nothing changed
    bf16   bfloat16 autocast (a CPU with native bf16 — AMX/AVX512-BF16 — or CUDA)
    fp16   float16 autocast (CUDA only)
    int8   dynamic int8 quantisation of nn.Linear (CPU only; the recognizer's transformer)
    auto   fp16 on CUDA; on CPU bf16 where the CPU has native bf16, else `cpu_fallback`
"""
from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:       # torch is imported where it is used: a Spark driver validates names without it
    import torch

PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")


def cpu_has_bf16() -> bool:
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(precision: str, device: torch.device, cpu_fallback: str = "fp32",
                      allowed: tuple[str, ...] = PRECISIONS) -> str:
    """The concrete precision for `precision` on `device`; ValueError for an unknown or impossible one."""
    if precision not in allowed:
        raise ValueError(f"precision must be one of {allowed}, got {precision!r}")
    if precision == "auto":
        return "fp16" if device.type == "cuda" else ("bf16" if cpu_has_bf16() else cpu_fallback)
    if precision == "int8" and device.type != "cpu":
        raise ValueError("int8 dynamic quantisation runs on CPU only")
    if precision == "fp16" and device.type != "cuda":
        raise ValueError("fp16 autocast needs CUDA; use bf16 or int8 on CPU")
    return precision


def channels_last(precision: str, device: torch.device) -> bool:
    """Whether convolutions should run channels-last: oneDNN's fast path for bf16 on CPU (AMX)."""
    return precision == "bf16" and device.type == "cpu"


def place(module: torch.nn.Module, precision: str, device: torch.device) -> torch.nn.Module:
    """`module` in eval mode on `device`, in the memory layout its resolved precision runs fastest in."""
    import torch

    module = module.eval().to(device)
    return module.to(memory_format=torch.channels_last) if channels_last(precision, device) else module


def autocast(precision: str, device: torch.device):
    """The autocast context for a resolved precision (a no-op for fp32 and int8)."""
    if precision in ("bf16", "fp16"):
        import torch

        return torch.autocast(device.type, dtype=torch.bfloat16 if precision == "bf16" else torch.float16)
    return contextlib.nullcontext()
