"""Detector losses on known values."""
import math

import pytest
import torch
import torch.nn.functional as F

from models.detection.losses import giou_loss, log_l1_loss, ohem_bce, orientation_loss


def test_ohem_averages_positives_and_the_hardest_negatives_only():
    logits = torch.tensor([2.0, 3.0, 1.0, -1.0, 0.5, -3.0, 2.5, -2.0])
    target = torch.tensor([1.0, 0, 0, 0, 0, 0, 0, 0])
    positive = target > 0.5
    per = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    # 1 positive -> the 3 negatives with the highest loss: logits 3.0, 2.5, 1.0
    expected = (per[0] + per[1] + per[6] + per[2]) / 4
    got = ohem_bce(logits, target, positive, neg_ratio=3, min_neg=0)
    assert torch.isclose(got, expected)
    # an easy negative does not move the loss, a hard one does
    easier = logits.clone()
    easier[5] = -9.0
    assert torch.isclose(ohem_bce(easier, target, positive, 3, 0), expected)
    harder = logits.clone()
    harder[5] = 5.0
    assert ohem_bce(harder, target, positive, 3, 0) > expected


def test_ohem_without_positives_uses_min_neg_hardest():
    logits = torch.tensor([0.0, 4.0, -4.0])
    target = torch.zeros(3)
    got = ohem_bce(logits, target, target > 0, min_neg=1)
    assert torch.isclose(got, F.softplus(torch.tensor(4.0)))


def test_giou_loss_known_values():
    box = torch.tensor([[2.0, 3.0, 4.0, 5.0]])
    assert torch.allclose(giou_loss(box, box), torch.zeros(()), atol=1e-6)
    # same point, target twice as wide to the right: IoU = 6*8 / (10*8) = 0.6, enclosing = union -> 0.4
    pred = torch.tensor([[2.0, 4.0, 4.0, 4.0]])
    target = torch.tensor([[2.0, 4.0, 8.0, 4.0]])
    assert math.isclose(float(giou_loss(pred, target)), 1 - 48 / 80, rel_tol=1e-5)
    assert giou_loss(pred, target, reduction="none").shape == (1,)
    with pytest.raises(ValueError):
        giou_loss(pred, target, reduction="max")


def test_log_l1_is_zero_at_the_target_and_grows_with_the_error():
    target = torch.tensor([[4.0, 8.0, 16.0, 4.0]])
    exact = torch.log(target / 4)
    assert float(log_l1_loss(exact, target, 4)) == pytest.approx(0.0, abs=1e-6)
    assert float(log_l1_loss(exact + 0.5, target, 4)) > float(log_l1_loss(exact + 0.2, target, 4)) > 0


def test_orientation_loss_ignores_non_text_cells():
    logits = torch.zeros(1, 4, 2, 2)
    logits[0, 1] = 10.0
    target = torch.tensor([[[1, -1], [-1, -1]]])
    assert float(orientation_loss(logits, target)) < 1e-3
    assert float(orientation_loss(logits, torch.full((1, 2, 2), -1))) == 0.0
