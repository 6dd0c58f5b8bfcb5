"""The detector's training step for models/engine.py: model + batch -> dict of named losses."""
from __future__ import annotations

import contextlib
from typing import Callable

import torch

from models.detection.losses import char_losses, detection_losses
from models.detection.model import FINE_STRIDE, Detector

# weights of the loss terms in the total the engine sums (centerness and boxes matter most)
LOSS_WEIGHTS: dict[str, float] = {"center": 1.0, "link": 1.0, "orient": 3.0, "box_giou": 1.0, "box_l1": 0.5,
                                  "offset": 0.5}


def _input(batch: dict[str, torch.Tensor], bf16: bool):
    """The batch's images (channels_last under bf16) and the autocast context to run the network in."""
    image = batch["image"]
    if not bf16:
        return image, contextlib.nullcontext()
    return image.contiguous(memory_format=torch.channels_last), torch.autocast(image.device.type, dtype=torch.bfloat16)


def loss_step(model: Detector, batch: dict[str, torch.Tensor], bf16: bool = False) -> dict[str, torch.Tensor]:
    """Forward a batch of `models.detection.data.collate` and return the weighted loss terms. `bf16` runs
    the network under bfloat16 autocast on the batch's device (2-2.5x faster on CPUs with AMX /
    AVX512-BF16; tensor cores on a GPU); the losses are always computed in float32."""
    image, ctx = _input(batch, bf16)
    with ctx:
        out = model(image)
    out = {k: v.float() for k, v in out.items()}
    losses = detection_losses(out, batch, model.cfg.stride)
    return {k: LOSS_WEIGHTS[k] * v for k, v in losses.items()}


def fine_loss_step(model: Detector, batch: dict[str, torch.Tensor], bf16: bool = False) -> dict[str, torch.Tensor]:
    """The fine character head alone (`DetectorConfig.char_stride=2`): the trunk runs frozen (eval mode, no
    gradient), the batch holds targets.encode's maps at FINE_STRIDE; weighted character terms."""
    for module in model.trunk_modules():
        module.eval()
    image, ctx = _input(batch, bf16)
    with ctx:
        with torch.no_grad():
            stem, tower = model.trunk(image)
        out = model.fine(stem, tower)
    out = {k: v.float() for k, v in out.items()}
    losses = char_losses(out, batch, FINE_STRIDE, prefix="fine_")
    return {k: LOSS_WEIGHTS[k] * v for k, v in losses.items()}


def joint_loss_step(model: Detector, batch: dict[str, torch.Tensor], bf16: bool = False) -> dict[str, torch.Tensor]:
    """Every head at once, the trunk included: loss_step's terms on the stride-4 maps plus the fine head's
    character terms (`fine_center`, `fine_box_giou`, ...) on the batch's `fine_*` maps (data.make_example with
    `fine`), so the trunk learns features for stride-2 characters while it keeps the words, links and
    orientation, and the fine head keeps up with the trunk it reads."""
    if model.fine is None:
        raise ValueError("the model has no fine head (DetectorConfig.char_stride=2)")
    image, ctx = _input(batch, bf16)
    with ctx:
        out = model(image)
        fine = model.fine(out["stem"], out["tower"])
    out = {k: v.float() for k, v in out.items() if k not in ("stem", "tower")}
    losses = {k: LOSS_WEIGHTS[k] * v for k, v in detection_losses(out, batch, model.cfg.stride).items()}
    targets = {k[len("fine_"):]: v for k, v in batch.items() if k.startswith("fine_")}
    fine_losses = char_losses({k: v.float() for k, v in fine.items()}, targets, FINE_STRIDE, prefix="fine_")
    return {**losses, **{f"fine_{k}": LOSS_WEIGHTS[k] * v for k, v in fine_losses.items()}}


def freeze_trunk(model: Detector) -> None:
    """Only the fine head trains: every other parameter stops taking gradients."""
    if model.fine is None:
        raise ValueError("the model has no fine head (DetectorConfig.char_stride=2)")
    for module in model.trunk_modules():
        module.requires_grad_(False)


def make_step(bf16: bool = False, fine: bool = False,
              joint: bool = False) -> Callable[[Detector, dict], dict[str, torch.Tensor]]:
    """The engine's `step_fn` (`fine`: the fine head alone, see fine_loss_step; `joint`: every head and the
    trunk, see joint_loss_step); with bf16 call `model.to(memory_format=torch.channels_last)` first."""
    if fine and joint:
        raise ValueError("fine (the fine head alone) and joint (everything) exclude each other")
    step = fine_loss_step if fine else joint_loss_step if joint else loss_step
    return lambda model, batch: step(model, batch, bf16)
