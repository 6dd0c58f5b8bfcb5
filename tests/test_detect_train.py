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


def test_cli_continues_from_shipped_weights(tmp_path, monkeypatch):
    """`lakeocr train detector --init <shipped .pt>` starts from those weights (their architecture, their
    flip classifier) and writes a detector the predictor loads."""
    import json
    import shutil

    from jobs.cli import main
    from models.detection.predictor import DetectionPredictor
    from models.weights import WEIGHTS_DIR
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    for ext in ("pt", "json"):
        shutil.copy(WEIGHTS_DIR / f"detector.{ext}", tmp_path / f"shipped.{ext}")
    out = tmp_path / "out"
    assert main(["train", "detector", "--source", "toy", "--steps", "2", "--lr", "1e-9", "--batch-size", "2",
                 "--crop", "128", "--init", str(tmp_path / "shipped.pt"), "--weights-dir", str(out),
                 "--eval-pages", "0", "--experiment", "smoke", "--log-every", "1"]) == 0
    shipped = DetectionPredictor.from_weights("shipped", tmp_path)
    tuned = DetectionPredictor.from_weights("detector", out)
    assert json.loads((out / "detector.json").read_text())["architecture"] == \
        json.loads((tmp_path / "shipped.json").read_text())["architecture"]
    assert tuned.flip_model is not None
    a, b = shipped.model.state_dict(), tuned.model.state_dict()
    conv = next(k for k in a if k.endswith("weight") and a[k].ndim == 4)
    assert torch.allclose(a[conv], b[conv], atol=1e-5)           # lr 1e-9: still the shipped weights


def test_eval_only_scores_the_pipelines_read_words_when_asked(tmp_path, capsys):
    """`--eval-only --eval-pipeline` scores the pages the pipeline outputs (text read, words split where read
    with a space), not the detector's; both print the same JSON keys."""
    import json

    from jobs.cli import main
    from jobs.train_detector import _PipelinePages
    from models.detection.data import toy_source
    from models.detection.predictor import DetectionPredictor
    from models.zoo import load_pipeline
    import numpy as np

    printed = []
    for extra in ([], ["--eval-pipeline"]):
        assert main(["train", "detector", "--eval-only", "--source", "toy", "--eval-pages", "2"] + extra) == 0
        printed.append(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))
    assert [p["pipeline"] for p in printed] == [False, True]
    assert printed[0].keys() == printed[1].keys() and 0 <= printed[1]["word_hmean"] <= 1
    image, _ = toy_source()(np.random.default_rng(3))
    detector = DetectionPredictor.from_weights("detector")
    raw = detector.detect([image])[0]
    read = _PipelinePages(load_pipeline(with_postocr=False, detector=detector)).detect([image])[0]
    assert not any(w.text for w in raw.words) and any(w.text for w in read.words)
    assert all(" " not in w.text for w in read.words)            # a word read with a space was split
