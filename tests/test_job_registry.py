"""MLflow registry (a throwaway sqlite store): bootstrap shipped weights once, alias `champion`, promote = alias
move, resolve to a concrete version, and the executor-side source that rebuilds the weights folder."""
from __future__ import annotations

import json

import pytest
import torch

from models.weights import save_weights
from tests.conftest import FakePipeline


@pytest.fixture
def registry(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    from jobs import registry as reg
    return reg


def _weights(folder, detector_value: float):
    save_weights("detector", {"w": torch.full((4,), detector_value)}, {"arch": "tiny"}, folder)
    save_weights("recognizer_hangul", {"w": torch.ones(2)}, {"charset": "가나"}, folder)
    (folder / "notes.txt").write_text("not weights")
    return folder


def _shas(folder):
    return {p.stem: json.loads(p.read_text())["sha256"][:12] for p in folder.glob("*.json")}


def test_bootstrap_is_idempotent_and_sets_champion(registry, tmp_path):
    w1 = _weights(tmp_path / "w1", 0.0)
    ref = registry.bootstrap(w1, log=lambda s: None)
    assert ref.version == "1" and dict(ref.component_versions) == _shas(w1)
    assert registry.bootstrap(w1, log=lambda s: None) == ref          # same weights: nothing new
    assert registry.resolve() == ref
    rows = registry.list_versions()
    assert [(r["version"], r["aliases"]) for r in rows] == [("1", ["champion"])]
    assert any((tmp_path / "mlruns").rglob("detector.pt"))          # artifacts next to the db, not in cwd


def test_new_weights_are_a_new_version_and_promote_moves_the_alias(registry, tmp_path):
    v1 = registry.bootstrap(_weights(tmp_path / "w1", 0.0), log=lambda s: None)
    v2 = registry.bootstrap(_weights(tmp_path / "w2", 1.0), log=lambda s: None)
    assert v2.version == "2" and registry.resolve() == v1            # champion is not moved by a bootstrap
    assert dict(v2.component_versions)["detector"] != dict(v1.component_versions)["detector"]
    registry.promote("2", log=lambda s: None)
    assert registry.resolve() == v2
    from mlflow import MlflowClient
    client = MlflowClient()
    det = client.get_model_version_by_alias("lakeocr-detector", "champion")
    assert det.tags["sha256"].startswith(dict(v2.component_versions)["detector"])
    with pytest.raises(LookupError):
        registry.resolve("challenger")


def test_a_changed_recipe_with_the_same_tensors_is_a_new_version(registry, tmp_path):
    w = _weights(tmp_path / "w", 0.0)
    v1 = registry.bootstrap(w, log=lambda s: None)
    recipe = w / "recognizer_hangul.json"
    config = json.loads(recipe.read_text())
    recipe.write_text(json.dumps({**config, "input": {"crop_pad": 0.12}}))     # same .pt, new margin
    v2 = registry.bootstrap(w, log=lambda s: None)
    assert v2.version == "2" and v2.component_versions == v1.component_versions
    assert registry.bootstrap(w, log=lambda s: None) == v2


def test_registry_source_ships_exactly_the_registered_weights(registry, tmp_path):
    w1 = _weights(tmp_path / "w1", 0.0)
    ref = registry.bootstrap(w1, log=lambda s: None)
    files = registry.download_weights(ref)
    assert sorted(files) == ["detector.json", "detector.pt", "recognizer_hangul.json", "recognizer_hangul.pt"]
    assert files["detector.pt"] == (w1 / "detector.pt").read_bytes()

    def loader(weights_dir, device, precision):
        pipe = FakePipeline()
        pipe.versions = _shas(tmp_path.__class__(weights_dir))
        return pipe

    source = registry.RegistrySource(ref, files, loader)
    assert source.load("cpu").versions == dict(ref.component_versions)
    wrong = registry.RegistrySource(ref, files, lambda d, dev, precision: FakePipeline())   # versions det1/rec1
    with pytest.raises(ValueError, match="differ"):
        wrong.load("cpu")
