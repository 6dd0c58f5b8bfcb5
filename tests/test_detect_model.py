"""Shapes of every head and the size budget of the detector network."""
import torch

from models.detection.model import HEADS, Detector, DetectorConfig, count_parameters


def test_every_head_has_its_channels_at_stride_4():
    cfg = DetectorConfig(widths=(8, 16, 16, 32, 32), blocks=(1, 1, 1, 1), fpn_width=16)
    model = Detector(cfg).eval()
    out = model(torch.zeros(2, 1, 64, 96))
    assert set(out) == set(HEADS)
    for name, channels in HEADS.items():
        assert out[name].shape == (2, channels, 16, 24), name


def test_default_model_is_small_and_pads_to_its_deepest_stride():
    cfg = DetectorConfig()
    assert 100_000 < count_parameters(Detector(cfg)) < 3_000_000
    assert cfg.pad_multiple == 32 and cfg.stride == 4
    assert DetectorConfig.from_dict(cfg.to_dict()) == cfg
