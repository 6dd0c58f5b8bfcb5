"""scripts/average_weights.py: a model soup of two weights versions."""
import importlib.util
import json
from pathlib import Path

import pytest
import torch

from models.weights import load_weights, save_weights

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("average_weights", ROOT / "scripts" / "average_weights.py")
avg = importlib.util.module_from_spec(spec)
spec.loader.exec_module(avg)


def test_average_mixes_floats_and_keeps_the_rest():
    a = {"w": torch.zeros(2, 2), "n": torch.tensor(3)}
    b = {"w": torch.ones(2, 2), "n": torch.tensor(9)}
    out = avg.average(a, b, 0.25)
    torch.testing.assert_close(out["w"], torch.full((2, 2), 0.25))
    assert int(out["n"]) == 3
    kept = avg.average({"w": torch.zeros(2), "head.b": torch.zeros(2)}, {"w": torch.ones(2), "head.b": torch.ones(2)},
                       0.5, ("head.",))
    torch.testing.assert_close(kept["head.b"], torch.ones(2))
    torch.testing.assert_close(kept["w"], torch.full((2,), 0.5))
    with pytest.raises(ValueError, match="keys"):
        avg.average(a, {"w": torch.ones(2, 2)}, 0.5)
    with pytest.raises(ValueError, match="shapes"):
        avg.average(a, {"w": torch.ones(3), "n": torch.tensor(1)}, 0.5)


def test_soup_of_a_folder_and_a_checkpoint_is_written_with_its_parents(tmp_path):
    cfg = {"architecture": {"dim": 2}, "charset": "ab", "training": {"lr": 1.0}, "init": "older"}
    save_weights("recognizer", {"w": torch.zeros(2)}, cfg, tmp_path / "a")
    ck = tmp_path / "b.ckpt"
    torch.save({"model": {"w": torch.full((2,), 4.0)}, "step": 7, "config": {"lr": 0.5}}, ck)
    assert avg.main([str(tmp_path / "a"), str(ck), "--alpha", "0.5", "--out", str(tmp_path / "out"),
                     "--recipe", '{"page_p": 0.3}']) == 0
    state, meta = load_weights("recognizer", tmp_path / "out")
    torch.testing.assert_close(state["w"], torch.full((2,), 2.0))
    version_a = json.loads((tmp_path / "a" / "recognizer.json").read_text())["sha256"][:12]
    assert meta["init"] == meta["soup"]["a"] == version_a and meta["charset"] == "ab"
    assert meta["soup"]["b"]["step"] == 7 and meta["soup"]["b_recipe"] == {"page_p": 0.3}
    assert meta["soup"]["a_history"] == {"training": {"lr": 1.0}, "init": "older"} and "training" not in meta
    torch.save({"w": torch.zeros(2)}, tmp_path / "bare.pt")
    with pytest.raises(ValueError, match="checkpoint"):
        avg.main([str(tmp_path / "a"), str(tmp_path / "bare.pt"), "--out", str(tmp_path / "x")])


def test_soup_of_two_folders_keeps_how_b_was_trained(tmp_path):
    save_weights("recognizer", {"w": torch.zeros(2)}, {"architecture": {"dim": 2}, "charset": "ab"}, tmp_path / "a")
    run = {"init": "parent", "lr": 2e-4, "minutes": 8.0}
    save_weights("recognizer", {"w": torch.ones(2)}, {"architecture": {"dim": 2}, "charset": "ab", "gpu_run": run,
                                                      "init": "parent", "trained_steps": 9}, tmp_path / "b")
    assert avg.main([str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "out")]) == 0
    _, meta = load_weights("recognizer", tmp_path / "out")
    b = meta["soup"]["b"]
    assert b["gpu_run"] == run and b["init"] == "parent" and b["trained_steps"] == 9 and "training" not in b


def test_detector_soup_keeps_what_the_predictor_reads(tmp_path):
    """A detector's soup keeps A's input size, decode thresholds and flip classifier: without them the
    predictor falls back to defaults (no up/down classifier: pages read upside down stay so)."""
    from models.detection.predictor import DetectionPredictor

    shipped = DetectionPredictor.from_weights("detector", ROOT / "models" / "weights")
    assert avg.main([str(ROOT / "models" / "weights"), str(ROOT / "models" / "weights"), "--name", "detector",
                     "--out", str(tmp_path)]) == 0
    soup = DetectionPredictor.from_weights("detector", tmp_path)
    assert soup.decode_config == shipped.decode_config and soup.config == shipped.config
    assert soup.flip_model is not None
    state, meta = load_weights("detector", tmp_path)
    for k, v in shipped.model.state_dict().items():
        torch.testing.assert_close(state[k].float(), v.float())
