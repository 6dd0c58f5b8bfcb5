"""Training away from this machine: per-worker data seeds, the time-boxed GPU trainer, bringing its run home,
and the font folders a machine without the Debian fonts is given."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from models.engine import SeededStream
from models.weights import WEIGHTS_DIR, load_weights

ROOT = Path(__file__).resolve().parents[1]


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "gpu" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _draws(seed: int):
    rng = np.random.default_rng(seed)
    while True:
        yield {"x": torch.tensor(rng.integers(1 << 30))}


def test_every_data_worker_draws_its_own_batches():
    stream = SeededStream(_draws, seed=5)
    alone = [int(b["x"]) for _, b in zip(range(4), iter(stream))]
    loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=2)
    got = [int(b["x"]) for _, b in zip(range(8), loader)]       # the loader takes workers in turn
    worker0, worker1 = got[0::2], got[1::2]
    assert worker0 == alone                                      # worker 0 keeps the run's own seed
    assert not set(worker0) & set(worker1)                       # the other worker does not repeat it


class _Line(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return self.w * x


def _line_batches():
    g = torch.Generator().manual_seed(0)
    while True:
        x = torch.randn(64, generator=g)
        yield {"x": x, "y": 3 * x}


def test_time_boxed_training_learns_and_leaves_weights_and_metrics(tmp_path):
    train_gpu = _script("train_gpu")
    model = _Line()
    step = lambda m, b: {"mse": ((m(b["x"]) - b["y"]) ** 2).mean()}      # noqa: E731
    train_gpu.train_for(model, _line_batches(), step, minutes=0.03, lr=0.05, warmup=5, device="cpu",
                        out=tmp_path, name="line", config={"what": "a line"}, log_every=10)
    ck = torch.load(tmp_path / "line.pt", weights_only=False)
    assert ck["step"] > 20 and ck["config"] == {"what": "a line"}
    assert abs(float(ck["model"]["w"]) - 3) < 0.3                 # it learnt y = 3x
    assert float(ck["ema"]["w"]) != float(ck["model"]["w"])        # the EMA lags behind the weights
    logged = [json.loads(line) for line in (tmp_path / "line.jsonl").read_text().splitlines()]
    assert logged and logged[-1]["mse"] < logged[0]["mse"]


def test_a_gpu_run_comes_home_as_weights_with_its_recipe(tmp_path):
    import_run = _script("import_run")
    run = tmp_path / "run"
    run.mkdir()
    state, _ = load_weights("recognizer", WEIGHTS_DIR)
    bumped = {k: (v + 1 if v.is_floating_point() else v) for k, v in state.items()}
    torch.save({"model": state, "ema": bumped,
                "step": 7, "config": {"init": "abc", "lr": 1e-3}}, run / "rec.pt")
    assert import_run.main([str(run), "--out", str(tmp_path / "w"), "--models", "rec"]) == 0
    got, meta = load_weights("recognizer", tmp_path / "w")
    assert all(torch.equal(got[k], bumped[k]) for k in state)            # the EMA weights by default
    assert meta["gpu_run"]["steps"] == 7 and meta["init"] == "abc" and meta["charset"]
    assert (tmp_path / "w" / "detector.pt").exists()                     # the rest of the folder came along
    # a second run that continued from the first (train_gpu.py --weights-dir w) keeps the first's record
    torch.save({"model": state, "ema": state, "step": 5, "config": {"init": meta["sha256"][:12]}}, run / "rec.pt")
    assert import_run.main([str(run), "--out", str(tmp_path / "w3"), "--models", "rec",
                            "--base", str(tmp_path / "w")]) == 0
    _, meta3 = load_weights("recognizer", tmp_path / "w3")
    assert meta3["gpu_run"]["steps"] == 5 and meta3["earlier_gpu_runs"][-1]["steps"] == 7
    assert meta3["trained_steps"] == meta.get("trained_steps", 0) + 5 and meta3["init"] == meta["sha256"][:12]
    torch.save({"model": {}, "ema": {}, "step": 1, "config": {}}, run / "rec.pt")
    with pytest.raises(ValueError, match="lacks"):
        import_run.main([str(run), "--out", str(tmp_path / "w2"), "--models", "rec"])


def test_font_folders_come_from_the_environment(tmp_path):
    code = "from models.synth import fonts; print(fonts.FONT_DIRS == fonts.DEBIAN_FONT_DIRS, fonts.FONT_DIRS[0])"
    env = {**os.environ, "LAKEOCR_FONT_DIRS": f"{tmp_path}:/elsewhere"}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", str(tmp_path)]
    env.pop("LAKEOCR_FONT_DIRS")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split()[0] == "True"
