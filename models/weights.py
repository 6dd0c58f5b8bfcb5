"""Shipped weights travel with their recipe: `<name>.pt` (a state_dict) next to `<name>.json`
(architecture config, input normalisation, thresholds, charset, ... and the sha256 of the .pt)."""
from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import torch

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_weights(name: str, state_dict: dict, config: dict, directory: str | Path = WEIGHTS_DIR) -> Path:
    """Write `<name>.pt` and `<name>.json` (config + sha256 + size); returns the .pt path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    pt = directory / f"{name}.pt"
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in state_dict.items()}, buf)
    pt.write_bytes(buf.getvalue())
    meta = dict(config)
    meta["sha256"] = sha256_file(pt)
    meta["size_bytes"] = pt.stat().st_size
    (directory / f"{name}.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return pt


def load_weights(name: str, directory: str | Path = WEIGHTS_DIR) -> tuple[dict, dict]:
    """Return (state_dict, config); raises FileNotFoundError / ValueError on a missing or altered file."""
    directory = Path(directory)
    pt, js = directory / f"{name}.pt", directory / f"{name}.json"
    if not pt.exists() or not js.exists():
        raise FileNotFoundError(f"weights {name!r} not found in {directory} (need {pt.name} and {js.name})")
    config = json.loads(js.read_text(encoding="utf-8"))
    digest = sha256_file(pt)
    if config.get("sha256") and config["sha256"] != digest:
        raise ValueError(f"{pt}: sha256 {digest} does not match its config ({config['sha256']})")
    state = torch.load(pt, map_location="cpu", weights_only=True)
    return state, config
