"""`lakeocr synth` CLI: files written load, validate and are deterministic."""
from __future__ import annotations

import json

import cv2
import numpy as np

from jobs.cli import main
from models.gtio import iter_dataset, load_page


def _pages(out, *extra):
    assert main(["synth", "pages", "--n", "3", "--seed", "5", "--dpi", "100", "--out", str(out), *extra]) == 0


def test_pages_write_images_and_gt_that_load(tmp_path):
    _pages(tmp_path / "a", "--kind", "mixed", "--lang", "mixed")
    pairs = list(iter_dataset(tmp_path / "a"))
    assert len(pairs) == 3
    for img_path, gt_path in pairs:
        page = load_page(gt_path)
        img = cv2.imread(str(img_path))
        assert img.shape[:2] == (page.height, page.width)
        assert page.words and all(w.chars for w in page.words)
        assert "".join(c.text for c in page.words[0].chars) == page.words[0].text
        assert page.meta["kind"] in ("form", "receipt", "invoice", "statement", "letter", "card")
        for w in page.words:
            assert w.quad[:, 0].min() >= -1 and w.quad[:, 0].max() <= page.width + 1


def test_pages_are_byte_identical_for_a_seed(tmp_path):
    _pages(tmp_path / "a", "--kind", "receipt")
    _pages(tmp_path / "b", "--kind", "receipt")
    for sub in ("images", "gt"):
        for f in sorted((tmp_path / "a" / sub).iterdir()):
            assert f.read_bytes() == (tmp_path / "b" / sub / f.name).read_bytes()


def test_template_pages_and_gallery(tmp_path):
    _pages(tmp_path / "t", "--template", "kr_receipt")
    page = load_page(next((tmp_path / "t" / "gt").glob("*.json")))
    assert page.template_id == "kr_receipt" and page.fields
    sheet = tmp_path / "sheet.png"
    assert main(["synth", "gallery", str(tmp_path / "t"), "--out", str(sheet)]) == 0
    img = cv2.imread(str(sheet))
    assert img is not None and img.shape[0] > 100
    # boxes are drawn in script colours: some pure-ish red (hangul, RGB 220,40,40 -> BGR) pixels exist
    assert ((img[:, :, 2] > 200) & (img[:, :, 1] < 60) & (img[:, :, 0] < 60)).any()


def test_crops_write_labels(tmp_path):
    assert main(["synth", "crops", "--n", "5", "--script", "hangul", "--out", str(tmp_path)]) == 0
    rows = [json.loads(x) for x in (tmp_path / "labels.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 5 and all(r["script"] == "hangul" and r["text"] and r["font"] for r in rows)
    img = cv2.imread(str(tmp_path / "images" / rows[0]["image"]), cv2.IMREAD_GRAYSCALE)
    assert img.shape[0] == 32 and img.dtype == np.uint8


def test_python_dash_m_entry_point(tmp_path):
    from models.synth.__main__ import main as synth_main
    assert synth_main(["crops", "--n", "2", "--lines", "--out", str(tmp_path)]) == 0
    assert len((tmp_path / "labels.jsonl").read_text(encoding="utf-8").splitlines()) == 2
