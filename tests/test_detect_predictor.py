"""DetectionPredictor: input checks, output geometry, weights round trip; `lakeocr ocr` writes JSON."""
import json

import numpy as np
import pytest
import torch

from models.detection.data import toy_source
from models.detection.model import Detector, DetectorConfig
from models.detection.predictor import DetectionPredictor, PredictorConfig
from models.weights import save_weights

TINY = DetectorConfig(widths=(8, 16, 16, 32, 32), blocks=(1, 1, 1, 1), fpn_width=16)


def _predictor(link_bias: float = -2.0, **kw) -> DetectionPredictor:
    torch.manual_seed(0)
    model = Detector(TINY)
    with torch.no_grad():   # a text prior everywhere, so the untrained net emits characters
        model.out.bias[0] = 2.0
        model.out.bias[-1] = link_bias
    return DetectionPredictor(model, PredictorConfig(max_side=128, batch_size=2), **kw)


@pytest.mark.parametrize("bad", [
    np.zeros((32, 32), np.float32),          # wrong dtype
    np.zeros((32, 32, 4), np.uint8),         # 4 channels
    np.zeros((32,), np.uint8),               # 1-D
    np.zeros((0, 32), np.uint8),             # empty
    np.zeros((10_001, 10_000), np.uint8),    # too large
    [[0, 1], [2, 3]],                        # not an array
])
def test_bad_input_raises_value_error(bad):
    with pytest.raises(ValueError):
        _predictor().detect([bad])


def test_a_bare_array_instead_of_a_list_raises():
    with pytest.raises(ValueError):
        _predictor().detect(np.zeros((32, 32), np.uint8))


def test_pages_come_back_in_original_pixels_for_gray_and_rgb():
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 255, (90, 200), dtype=np.uint8)
    rgb = rng.integers(0, 255, (300, 120, 3), dtype=np.uint8)
    pages = _predictor().detect([gray, rgb, gray])
    assert [(p.width, p.height) for p in pages] == [(200, 90), (120, 300), (200, 90)]
    assert pages[0].words, "the biased net should emit characters"
    for page in pages:
        for w in page.words:
            assert w.quad.shape == (4, 2) and w.text == "" and w.chars and w.line_id is not None
            assert w.orientation in (0, 90, 180, 270)
        assert -page.width * 0.5 < min((w.quad[:, 0].min() for w in page.words), default=0)
        assert max((w.quad[:, 0].max() for w in page.words), default=0) < page.width * 1.5
        assert sorted(i for ln in page.lines for i in ln.word_ids) == list(range(len(page.words)))


def test_input_is_padded_white_and_normalised_with_the_models_mean_and_std():
    pred = _predictor()
    a = np.random.default_rng(2).integers(0, 255, (30, 50), dtype=np.uint8)
    x = pred._batch_tensor([a])
    cfg = pred.model.cfg
    want = (torch.from_numpy(a).float() / 255.0 - cfg.mean) / cfg.std
    assert x.shape[-2] % cfg.pad_multiple == 0 and x.shape[-1] % cfg.pad_multiple == 0
    torch.testing.assert_close(x[0, 0, :30, :50], want)
    torch.testing.assert_close(x[0, 0, 30:, :], torch.full_like(x[0, 0, 30:, :], (1.0 - cfg.mean) / cfg.std))


def test_batching_pages_of_one_size_gives_the_same_result_as_one_by_one():
    rng = np.random.default_rng(1)
    a, b = (rng.integers(0, 255, (90, 200), dtype=np.uint8) for _ in range(2))
    pred = _predictor()
    together = pred.detect([a, b])
    alone = pred.detect([a]) + pred.detect([b])
    for x, y in zip(together, alone):
        assert len(x.words) == len(y.words) > 0
        np.testing.assert_allclose(x.words[0].quad, y.words[0].quad, atol=1e-3)


def test_from_weights_round_trip_and_version(tmp_path):
    pred = _predictor()
    pt = save_weights("detector", pred.model.state_dict(), pred.config_dict(), tmp_path)
    loaded = DetectionPredictor.from_weights("detector", tmp_path)
    meta = json.loads(pt.with_suffix(".json").read_text())
    assert loaded.version == meta["sha256"][:12]
    assert loaded.config == pred.config and loaded.model.cfg == TINY
    image = np.full((64, 100), 255, np.uint8)
    a, b = pred.detect([image])[0], loaded.detect([image])[0]
    assert len(a.words) == len(b.words)


def test_ocr_cli_writes_one_json_per_image(tmp_path):
    from PIL import Image

    from jobs.cli import main
    from models.gtio import load_page

    pred = _predictor()
    weights = tmp_path / "w"
    save_weights("detector", pred.model.state_dict(), pred.config_dict(), weights)
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(np.full((60, 80, 3), 255, np.uint8)).save(folder / "a.png")
    Image.fromarray(np.full((40, 50), 0, np.uint8)).save(folder / "b.jpg")
    rc = main(["ocr", str(folder), "--out", str(tmp_path / "out"), "--weights-dir", str(weights), "--no-postocr"])
    assert rc == 0
    page = load_page(tmp_path / "out" / "a.json")
    assert (page.width, page.height) == (80, 60)
    assert (tmp_path / "out" / "b.json").exists()


def test_flip_classifier_ships_inside_the_detector_weights_and_turns_pages(tmp_path):
    from models.detection.flip import FlipClassifier, FlipConfig, flip_word

    flip = FlipClassifier(FlipConfig(widths=(4, 8)))
    with torch.no_grad():          # always votes "upside down"
        flip.head.weight.zero_()
        flip.head.bias.fill_(5.0)
    plain = _predictor(link_bias=4.0)            # links everywhere: words of several characters
    pred = _predictor(link_bias=4.0, flip_model=flip)
    save_weights("detector", pred.state_dict(), pred.config_dict(), tmp_path)
    loaded = DetectionPredictor.from_weights("detector", tmp_path)
    assert loaded.flip_model is not None and loaded.flip_model.cfg == FlipConfig(widths=(4, 8))
    image = np.random.default_rng(2).integers(0, 255, (90, 200), dtype=np.uint8)
    a, b = plain.detect([image])[0], loaded.detect([image])[0]
    assert b.orientation == (a.orientation + 180) % 360
    turned = [w for w in b.words if len(w.chars) >= 2 and w.orientation == b.orientation]
    assert turned and len(b.words) == len(a.words)
    word = turned[0]
    back = flip_word(word)
    np.testing.assert_allclose(back.quad, word.quad[[2, 3, 0, 1]])
    assert back.orientation == a.orientation and len(back.chars) == len(word.chars)


@pytest.mark.parametrize("precision", ["int8", "fp16", "half"])
def test_precisions_the_detector_cannot_run_on_cpu_are_refused(precision):
    with pytest.raises(ValueError, match="precision|fp16"):
        DetectionPredictor(Detector(TINY), precision=precision)


def test_bf16_finds_the_same_words_as_fp32_with_the_shipped_weights():
    from models.detection.toy import render_toy_page
    from models.eval.metrics import match_quads
    from models.precision import cpu_has_bf16
    if not cpu_has_bf16():
        pytest.skip("CPU without native bf16")
    page, gt = render_toy_page(np.random.default_rng(3), 640, 480, font_px=(18, 28))
    fp32 = DetectionPredictor.from_weights("detector", precision="fp32").detect([page])[0]
    bf16 = DetectionPredictor.from_weights("detector", precision="bf16").detect([page])[0]
    assert len(fp32.words) >= 0.8 * len(gt.words)
    pairs = match_quads([w.quad for w in bf16.words], [w.quad for w in fp32.words], 0.8)
    assert len(pairs) >= 0.95 * max(len(fp32.words), len(bf16.words))


def test_refined_characters_from_the_fine_windows_match_the_dense_fine_maps():
    """A detector with a fine head: the predictor runs the head only on the cells around each character
    (FineCharHead.windows) and gets the character boxes that decoding the dense fine maps gives; words stay
    the stride-4 ones, characters change."""
    import dataclasses

    from models.detection.decode import decode_maps
    from models.detection.predictor import _page_maps
    torch.manual_seed(0)
    shipped = DetectionPredictor.from_weights("detector")
    model = Detector(dataclasses.replace(shipped.model.cfg, char_stride=2))
    model.load_state_dict(shipped.model.state_dict(), strict=False)        # a random fine head on top
    pred = DetectionPredictor(model, shipped.config, shipped.decode_config, precision="fp32")
    off = DetectionPredictor(model, shipped.config, dataclasses.replace(shipped.decode_config, fine_chars="off"),
                             precision="fp32")
    image, _ = toy_source()(np.random.default_rng(5))
    page, plain = pred.detect([image])[0], off.detect([image])[0]
    arr, (sx, sy) = pred._prepare(image)
    with torch.inference_mode():
        out = pred.net(pred._batch_tensor([arr]))
        dense = pred.fine_head(out["stem"], out["tower"])
    maps = _page_maps({**{k: v for k, v in out.items() if k not in ("stem", "tower")}, **dense}, 0, arr.shape[:2], 4)
    want = decode_maps(maps, 4, (arr.shape[1], arr.shape[0]), pred.decode_config)
    assert page.words and len(page.words) == len(want.words) == len(plain.words)
    for got, ref, base in zip(page.words, want.words, plain.words):
        np.testing.assert_allclose(got.quad, base.quad, atol=0.5)
        np.testing.assert_allclose([c.quad for c in got.chars],
                                   [c.quad * np.float32([1 / sx, 1 / sy]) for c in ref.chars], atol=0.05)
    assert not np.allclose([c.quad for w in page.words for c in w.chars],
                           [c.quad for w in plain.words for c in w.chars], atol=0.5)
    # "replace": the predictor runs the head densely on the features, as decoding the dense maps does
    pred.decode_config = dataclasses.replace(pred.decode_config, fine_chars="replace")
    cfg = pred.decode_config
    got = pred.detect([image])[0]
    want = decode_maps(maps, 4, (arr.shape[1], arr.shape[0]), cfg)
    scale = np.float32([1 / sx, 1 / sy])
    assert sum(len(w.chars) for w in got.words) == sum(len(w.chars) for w in want.words) > 0
    np.testing.assert_allclose([c.quad for w in got.words for c in w.chars],
                               [c.quad * scale for w in want.words for c in w.chars], atol=0.05)
