"""A few training steps on toy pages lower the detector's loss (CI smoke)."""
import torch

from models.detection.data import DataConfig, batches, toy_source
from models.detection.model import Detector, DetectorConfig
from models.detection.training import loss_step
from models.engine import TrainConfig, train


def test_few_steps_lower_the_loss(tmp_path):
    torch.manual_seed(0)
    cfg = DataConfig(max_side=0, scale_range=(1.0, 1.0), crop=128, batch_size=4)
    data = batches(toy_source((160, 160)), cfg, seed=0)
    probe = next(data)
    model = Detector(DetectorConfig(widths=(8, 16, 16, 32, 32), blocks=(1, 1, 1, 1), fpn_width=16))

    def total(m):
        m.eval()
        with torch.no_grad():
            return float(sum(loss_step(m, probe).values()))

    before = total(model)
    result = train(model, data, TrainConfig(steps=40, lr=3e-3, warmup=5, log_every=10, ckpt_every=20),
                   ckpt_path=tmp_path / "ck.pt", step_fn=loss_step)
    assert result["step"] == 40 and (tmp_path / "ck.pt").exists()
    after = total(model)
    assert after < 0.8 * before, (before, after)
