"""Shapes of every head and the size budget of the detector network."""
import pytest
import torch

from models.detection.model import FINE_HEADS, HEADS, Detector, DetectorConfig, count_parameters

SMALL = dict(widths=(8, 16, 16, 32, 32), blocks=(1, 1, 1, 1), fpn_width=16)


def test_every_head_has_its_channels_at_stride_4():
    cfg = DetectorConfig(widths=(8, 16, 16, 32, 32), blocks=(1, 1, 1, 1), fpn_width=16)
    model = Detector(cfg).eval()
    out = model(torch.zeros(2, 1, 64, 96))
    assert set(out) == set(HEADS)
    for name, channels in HEADS.items():
        assert out[name].shape == (2, channels, 16, 24), name


def test_the_fine_head_gives_the_character_maps_at_stride_2():
    model = Detector(DetectorConfig(**SMALL, char_stride=2, fine_width=8)).eval()
    out = model(torch.zeros(2, 1, 64, 96))
    assert set(out) == set(HEADS) | {"stem", "tower"}
    assert out["stem"].shape[-2:] == (32, 48) and out["tower"].shape[-2:] == (16, 24)
    fine = model.fine(out["stem"], out["tower"])
    assert set(fine) == {f"fine_{k}" for k in FINE_HEADS}
    for name, channels in FINE_HEADS.items():
        assert fine[f"fine_{name}"].shape == (2, channels, 32, 48), name
    plain = Detector(DetectorConfig(**SMALL))
    assert plain.fine is None and not [k for k in plain.state_dict() if k.startswith("fine.")]
    assert set(plain(torch.zeros(1, 1, 64, 96))) == set(HEADS)
    with pytest.raises(ValueError, match="char_stride"):
        Detector(DetectorConfig(**SMALL, char_stride=3))


def test_fine_windows_are_the_dense_maps_at_those_cells():
    """FineCharHead.windows computes the 3x3 cells around a few centres only, and gives what the dense maps
    hold there, at the map's borders too (where cells outside are marked invalid)."""
    torch.manual_seed(0)
    model = Detector(DetectorConfig(**SMALL, char_stride=2, fine_width=8))
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(1, 1, 64, 96))
        dense = model.fine(out["stem"], out["tower"])
        rows, cols = torch.tensor([0, 5, 31, 17]), torch.tensor([0, 9, 47, 30])
        win, valid = model.fine.windows(out["stem"][0], out["tower"][0], rows, cols)
    for n, (r, c) in enumerate(zip(rows.tolist(), cols.tolist())):
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                inside = 0 <= r + di < 32 and 0 <= c + dj < 48
                assert bool(valid[n, di + 1, dj + 1]) == inside
                if inside:
                    for name, v in win.items():
                        torch.testing.assert_close(v[n, :, di + 1, dj + 1], dense[name][0, :, r + di, c + dj],
                                                   atol=1e-5, rtol=1e-5)


def test_default_model_is_small_and_pads_to_its_deepest_stride():
    cfg = DetectorConfig()
    assert 100_000 < count_parameters(Detector(cfg)) < 3_000_000
    assert cfg.pad_multiple == 32 and cfg.stride == 4
    assert DetectorConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize("char_stride", [4, 2])
def test_fused_inference_copy_matches_and_leaves_the_model_alone(char_stride):
    from models.detection.model import fused_for_inference
    torch.manual_seed(0)
    model = Detector(DetectorConfig(**SMALL, char_stride=char_stride, fine_width=8))
    for m in model.modules():            # non-trivial running statistics, as after training
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    model.eval()
    fused = fused_for_inference(model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    x = torch.randn(2, 1, 64, 96)
    with torch.inference_mode():
        a, b = model(x), fused(x)
    if char_stride == 2:
        with torch.inference_mode():
            a.update(model.fine(a["stem"], a["tower"]))
            b.update(fused.fine(b["stem"], b["tower"]))
    assert a.keys() == b.keys() and len(a) == len(HEADS) + (2 + len(FINE_HEADS) if char_stride == 2 else 0)
    for name in a:
        torch.testing.assert_close(a[name], b[name], atol=1e-4, rtol=1e-4)
