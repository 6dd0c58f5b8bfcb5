"""Read and write pages in the JSON format of ../shared/benchdata/README.md.

The same format carries ground truth and predictions (predictions add `conf` per word).
lakeocr extends it with optional keys: `chars` per word, `script`, `block_id`, `blocks`,
`orientation`, `kind`, `entities` with `value`, `kv_links` (word index pairs), `template`.
Unknown keys are kept in `Page.meta` on read and ignored otherwise.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from models.types import Block, Char, Entity, Line, Page, Word, as_quad


def _q(points) -> list[list[float]]:
    return [[round(float(x), 2), round(float(y), 2)] for x, y in np.asarray(points).reshape(4, 2)]


def page_to_dict(page: Page, image_name: str | None = None) -> dict:
    d: dict = {
        "image": image_name,
        "width": int(page.width),
        "height": int(page.height),
        "orientation": int(page.orientation),
        "words": [],
        "lines": [],
    }
    for w in page.words:
        wd = {"text": w.text, "quad": _q(w.quad), "conf": round(float(w.conf), 4), "script": w.script,
              "orientation": int(w.orientation), "line_id": w.line_id, "block_id": w.block_id,
              "label": w.label}
        if w.chars:
            wd["chars"] = [{"text": c.text, "quad": _q(c.quad)} for c in w.chars]
        d["words"].append(wd)
    for ln in page.lines:
        d["lines"].append({"text": ln.text, "quad": _q(ln.quad), "word_ids": list(map(int, ln.word_ids)),
                           "block_id": ln.block_id})
    if page.blocks:
        d["blocks"] = [{"quad": _q(b.quad), "line_ids": list(map(int, b.line_ids)), "kind": b.kind}
                       for b in page.blocks]
    if page.entities:
        d["entities"] = [{"label": e.label, "text": e.text, "word_indices": list(map(int, e.word_ids)),
                          "value": e.value, "valid": e.valid} for e in page.entities]
    if page.links:
        d["kv_links"] = [[int(a), int(b)] for a, b in page.links]
    if page.fields:
        d["fields"] = dict(page.fields)
    if page.template_id is not None:
        d["template"] = {"id": page.template_id, "fields": dict(page.fields)}
    d.update({k: v for k, v in page.meta.items() if k not in d})
    return d


def page_from_dict(d: dict) -> Page:
    """Parse a benchdata-format dict (GT or prediction). Raises ValueError on malformed input."""
    try:
        width, height = int(d["width"]), int(d["height"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"page JSON needs integer width and height: {exc}") from exc
    words = []
    for i, w in enumerate(d.get("words", [])):
        try:
            chars = [Char(c["text"], as_quad(c["quad"])) for c in w.get("chars", [])]
            words.append(Word(quad=as_quad(w["quad"]), text=str(w.get("text", "")),
                              conf=float(w.get("conf", 1.0)), script=w.get("script", "other"),
                              orientation=int(w.get("orientation", 0) or 0), chars=chars,
                              line_id=w.get("line_id"), block_id=w.get("block_id"), label=w.get("label")))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"word {i} is malformed: {exc}") from exc
    lines = []
    for ln in d.get("lines", []):
        ids = ln.get("word_ids")
        if ids is None:   # benchdata SROIE: words carry line_id
            ids = [i for i, w in enumerate(words) if w.line_id == len(lines)]
        lines.append(Line(quad=as_quad(ln["quad"]), word_ids=list(ids), text=ln.get("text", ""),
                          block_id=ln.get("block_id")))
    blocks = [Block(quad=as_quad(b["quad"]), line_ids=list(b.get("line_ids", [])), kind=b.get("kind", "text"))
              for b in d.get("blocks", [])]
    entities = [Entity(label=e.get("label", ""), text=e.get("text", ""),
                       word_ids=list(e.get("word_indices", [])), value=e.get("value"), valid=e.get("valid"))
                for e in d.get("entities", [])]
    known = {"width", "height", "words", "lines", "blocks", "entities", "kv_links", "orientation",
             "fields", "template"}
    tmpl = d.get("template") or {}
    return Page(width=width, height=height, words=words, lines=lines, blocks=blocks, entities=entities,
                links=[tuple(p) for p in d.get("kv_links", [])], orientation=int(d.get("orientation", 0) or 0),
                fields=dict(d.get("fields") or tmpl.get("fields") or {}), template_id=tmpl.get("id"),
                meta={k: v for k, v in d.items() if k not in known})


def read_json(path: str | Path):
    """Parse a UTF-8 JSON file; ValueError (naming the file) when it is not valid JSON."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from exc


def load_page(path: str | Path) -> Page:
    return page_from_dict(read_json(path))


def save_page(page: Page, path: str | Path, image_name: str | None = None) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(page_to_dict(page, image_name), ensure_ascii=False), encoding="utf-8")


def iter_dataset(root: str | Path):
    """Yield (image_path, gt_path) pairs of a dataset folder (images/ + gt/), sorted by stem."""
    root = Path(root)
    gt_dir, img_dir = root / "gt", root / "images"
    if not gt_dir.is_dir() or not img_dir.is_dir():
        raise ValueError(f"{root}: a dataset folder holds images/ and gt/")
    for gt in sorted(gt_dir.glob("*.json")):
        d = json.loads(gt.read_text(encoding="utf-8"))
        name = d.get("image")
        img = img_dir / name if name else next(iter(sorted(img_dir.glob(gt.stem + ".*"))), None)
        if img is None or not Path(img).exists():
            raise ValueError(f"{gt}: image {name!r} not found in {img_dir}")
        yield Path(img), gt
