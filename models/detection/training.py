"""The detector's training step for models/engine.py: model + batch -> dict of named losses."""
from __future__ import annotations

import torch

from models.detection.losses import detection_losses
from models.detection.model import Detector

# weights of the loss terms in the total the engine sums (centerness and boxes matter most)
LOSS_WEIGHTS: dict[str, float] = {"center": 1.0, "link": 1.0, "orient": 0.5, "box_giou": 1.0, "box_l1": 0.5,
                                  "offset": 0.5}


def loss_step(model: Detector, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Forward a batch of `models.detection.data.collate` and return the weighted loss terms."""
    out = model(batch["image"])
    losses = detection_losses(out, batch, model.cfg.stride)
    return {k: LOSS_WEIGHTS[k] * v for k, v in losses.items()}
