"""A few training steps on toy pages lower the detector's loss (CI smoke)."""
import json

import pytest
import torch

from models.detection.data import DataConfig, batches, toy_source
from models.detection.model import Detector, DetectorConfig
from models.detection.targets import TargetConfig
from models.detection.training import fine_loss_step, freeze_trunk, joint_loss_step, loss_step, make_step
from models.engine import TrainConfig, train

SMALL = dict(widths=(8, 16, 16, 32, 32), blocks=(1, 1, 1, 1), fpn_width=16)


def _probe_loss(model, probe, step) -> float:
    model.eval()
    with torch.no_grad():
        return float(sum(step(model, probe).values()))


def _train_on(model, data, probe, step, **mode) -> tuple[float, float]:
    """The probe batch's summed loss before and after 30 steps of make_step(**mode)."""
    before = _probe_loss(model, probe, step)
    train(model, data, TrainConfig(steps=30, lr=3e-3, warmup=5, log_every=10, ckpt_every=100),
          step_fn=make_step(**mode))
    return before, _probe_loss(model, probe, step)


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


def test_the_fine_head_trains_alone_on_a_frozen_trunk(tmp_path):
    """A few steps lower the fine head's loss and leave every other tensor (BatchNorm statistics included) as
    it was; a model without a fine head is refused."""
    torch.manual_seed(0)
    cfg = DataConfig(max_side=0, scale_range=(1.0, 1.0), crop=128, batch_size=4)
    data = batches(toy_source((160, 160)), cfg, seed=0, tcfg=TargetConfig(stride=2))
    probe = next(data)
    assert probe["center"].shape[-2:] == (64, 64)                 # targets at stride 2
    model = Detector(DetectorConfig(**SMALL, char_stride=2, fine_width=8))
    freeze_trunk(model)
    trunk = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("fine.")}
    fine = {k: v.clone() for k, v in model.state_dict().items() if k.startswith("fine.")}
    before, after = _train_on(model, data, probe, fine_loss_step, fine=True)
    assert after < 0.8 * before, (before, after)
    state = model.state_dict()
    assert all(torch.equal(v, state[k]) for k, v in trunk.items())
    assert not all(torch.equal(v, state[k]) for k, v in fine.items())
    with pytest.raises(ValueError, match="fine head"):
        freeze_trunk(Detector(DetectorConfig(**SMALL)))


def test_joint_training_moves_the_trunk_and_both_strides_maps(tmp_path):
    """`joint`: a batch holds the stride-4 maps and the fine stride-2 ones (`fine_*`); the step returns the
    terms of both, a few steps lower their sum, and the trunk and the fine head both move; without a fine
    head, or asked for both `fine` and `joint`, it is refused."""
    torch.manual_seed(0)
    cfg = DataConfig(max_side=0, scale_range=(1.0, 1.0), crop=128, batch_size=4)
    data = batches(toy_source((160, 160)), cfg, seed=0, fine=TargetConfig(stride=2, min_sigma=1.0))
    probe = next(data)
    assert probe["center"].shape[-2:] == (32, 32) and probe["fine_center"].shape[-2:] == (64, 64)
    assert probe["fine_box"].shape[1:] == (4, 64, 64) and "fine_link" not in probe
    model = Detector(DetectorConfig(**SMALL, char_stride=2, fine_width=8))
    terms = joint_loss_step(model, probe)
    assert set(loss_step(model, probe)) < set(terms)
    assert {"fine_center", "fine_box_giou", "fine_box_l1", "fine_offset"} <= set(terms)
    before_state = {k: v.clone() for k, v in model.state_dict().items()}
    before, after = _train_on(model, data, probe, joint_loss_step, joint=True)
    assert after < 0.8 * before, (before, after)
    state = model.state_dict()
    moved = {k for k, v in before_state.items() if not torch.equal(v, state[k])}
    assert any(k.startswith("fine.") for k in moved) and any(k.startswith("backbone.") for k in moved)
    with pytest.raises(ValueError, match="fine head"):
        joint_loss_step(Detector(DetectorConfig(**SMALL)), probe)
    with pytest.raises(ValueError, match="exclude"):
        make_step(fine=True, joint=True)


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
                 "--ckpt", str(tmp_path / "ck.pt"), "--eval-pages", "0", "--experiment", "smoke",
                 "--log-every", "1"]) == 0
    shipped = DetectionPredictor.from_weights("shipped", tmp_path)
    tuned = DetectionPredictor.from_weights("detector", out)
    assert DetectorConfig.from_dict(json.loads((out / "detector.json").read_text())["architecture"]) == \
        DetectorConfig.from_dict(json.loads((tmp_path / "shipped.json").read_text())["architecture"])
    assert tuned.flip_model is not None
    a, b = shipped.model.state_dict(), tuned.model.state_dict()
    conv = next(k for k in a if k.endswith("weight") and a[k].ndim == 4)
    assert torch.allclose(a[conv], b[conv], atol=1e-5)           # lr 1e-9: still the shipped weights


def test_cli_trains_a_fine_head_on_top_of_a_detector(tmp_path, monkeypatch):
    """`--fine-head --init <weights .pt>` on a detector without a fine head (the shipped trunk, stride 4
    only): the written detector has the fine head, the given weights everywhere else (exactly: they were
    frozen), its flip classifier and settings; without --init it is refused."""
    import dataclasses
    import numpy as np
    from jobs.cli import main
    from models.detection.predictor import DetectionPredictor
    from models.weights import save_weights
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    shipped = DetectionPredictor.from_weights("detector")
    plain = Detector(dataclasses.replace(shipped.model.cfg, char_stride=4))
    plain.load_state_dict({k: v for k, v in shipped.model.state_dict().items() if not k.startswith("fine.")})
    base = DetectionPredictor(plain, shipped.config, shipped.decode_config, flip_model=shipped.flip_model, fuse=True)
    init = save_weights("plain", base.state_dict(), {**base.config_dict(), "trained_steps": 7}, tmp_path)
    args = ["train", "detector", "--source", "toy", "--steps", "2", "--batch-size", "2", "--crop", "128",
            "--fine-head", "--eval-pages", "0", "--experiment", "smoke", "--ckpt", str(tmp_path / "ck.pt"),
            "--weights-dir", str(tmp_path / "out")]
    with pytest.raises(SystemExit, match="--init"):
        main(args)
    assert main(args + ["--init", str(init)]) == 0
    given = plain.state_dict()
    tuned = DetectionPredictor.from_weights("detector", tmp_path / "out")
    assert tuned.model.cfg.char_stride == 2 and tuned.flip_model is not None
    state = tuned.model.state_dict()
    assert set(state) - set(given) == {k for k in state if k.startswith("fine.")} != set()
    assert all(torch.equal(v, state[k]) for k, v in given.items())
    written = json.loads((tmp_path / "out" / "detector.json").read_text())
    assert written["trained_steps"] == 7 and written["fine_head"]["steps"] == 2
    # --export-only from the run's checkpoint writes the same detector, flip classifier and settings included
    assert main(args[:-2] + ["--weights-dir", str(tmp_path / "exp"), "--init", str(init), "--export-only"]) == 0
    exported = DetectionPredictor.from_weights("detector", tmp_path / "exp")
    assert exported.flip_model is not None and exported.version == tuned.version
    assert exported.decode_config == tuned.decode_config == base.decode_config
    # decoded from its stride-4 characters, it finds what the detector it started from finds
    image = toy_source()(np.random.default_rng(0))[0]
    want = base.detect([image])[0]
    tuned.decode_config = dataclasses.replace(tuned.decode_config, fine_chars="off")
    got = tuned.detect([image])[0]
    assert want.words and len(got.words) == len(want.words)
    np.testing.assert_allclose([w.quad for w in got.words], [w.quad for w in want.words], atol=0.5)


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


def test_cli_joint_run_continues_a_detector_with_its_fine_head(tmp_path, monkeypatch):
    """`--joint --init <shipped .pt>`: every weight may move, the written detector keeps the fine head, its
    settings and flip classifier, and its record adds the joint run to the fine head's; --joint needs
    --init and refuses --fine-head beside it."""
    import shutil

    from jobs.cli import main
    from models.detection.predictor import DetectionPredictor
    from models.weights import WEIGHTS_DIR
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    for ext in ("pt", "json"):
        shutil.copy(WEIGHTS_DIR / f"detector.{ext}", tmp_path / f"shipped.{ext}")
    args = ["train", "detector", "--source", "toy", "--steps", "2", "--batch-size", "2", "--crop", "128",
            "--joint", "--lr", "1e-3", "--eval-pages", "0", "--experiment", "smoke", "--ckpt", str(tmp_path / "ck.pt"),
            "--weights-dir", str(tmp_path / "out")]
    with pytest.raises(SystemExit, match="--init"):
        main(args)
    with pytest.raises(SystemExit, match="exclude"):
        main(args + ["--init", str(tmp_path / "shipped.pt"), "--fine-head"])
    assert main(args + ["--init", str(tmp_path / "shipped.pt")]) == 0
    shipped = DetectionPredictor.from_weights("shipped", tmp_path)
    tuned = DetectionPredictor.from_weights("detector", tmp_path / "out")
    assert tuned.model.cfg == shipped.model.cfg and tuned.model.cfg.char_stride == 2
    assert tuned.flip_model is not None and tuned.decode_config == shipped.decode_config
    a, b = shipped.model.state_dict(), tuned.model.state_dict()
    assert not all(torch.equal(a[k], b[k]) for k in a if k.startswith("backbone.") and a[k].is_floating_point())
    given = json.loads((tmp_path / "shipped.json").read_text())
    written = json.loads((tmp_path / "out" / "detector.json").read_text())
    assert written["trained_steps"] == given["trained_steps"] + 2 and written["joint"]["steps"] == 2
    assert written["fine_head"] == given["fine_head"] and written["joint"]["init"] == shipped.version
