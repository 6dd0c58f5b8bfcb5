"""Script identifier: model masking, predictor contract, and the pipeline's routing of crops by script."""
import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageFont

from models.geometry import box_to_quad
from models.pipeline import Pipeline
from models.script_id.model import ScriptCNN, ScriptCNNConfig
from models.script_id.predictor import ScriptPredictor
from models.script_id.training import confusion
from models.types import SCRIPTS, Page, Word


def test_masked_pooling_averages_only_valid_columns():
    model = ScriptCNN().eval()
    model.stages, model.stride, model.head = torch.nn.Identity(), 1, torch.nn.Identity()   # expose the pooling
    x = torch.tensor([[[[1.0, 2.0, 3.0, 100.0, 100.0], [3.0, 4.0, 5.0, -100.0, 7.0]]]])      # (1, 1, 2, 5)
    assert model(x, torch.tensor([3])).item() == pytest.approx(3.0)       # mean of the 3 valid columns
    assert model(x, None).item() == pytest.approx(float(x.mean()))


def test_forward_shapes():
    model = ScriptCNN().eval()
    with torch.no_grad():
        out = model(torch.rand(3, 1, 32, 64), torch.tensor([64, 20, 5]))
    assert out.shape == (3, len(SCRIPTS)) and torch.isfinite(out).all()


def test_predictor_labels_and_input_checks():
    pred = ScriptPredictor(ScriptCNN(ScriptCNNConfig()), batch_size=2)
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (32, w), dtype=np.uint8) for w in (10, 60, 300)]
    out = pred.classify(crops)
    assert len(out) == 3 and all(s in SCRIPTS and 0 <= c <= 1 for s, c in out)
    assert np.allclose(pred.probabilities(crops).sum(1), 1, atol=1e-5)
    with pytest.raises(ValueError):
        pred.classify([np.zeros((32, 10), np.float64)])
    with pytest.raises(ValueError):
        pred.classify(np.zeros((32, 10), np.uint8))


def test_confusion_rows_are_true_labels():
    m = confusion(["hangul", "latin", "latin", "other"], ["hangul", "hangul", "latin", "digits"])
    i = {s: k for k, s in enumerate(SCRIPTS)}
    assert m[i["hangul"], i["latin"]] == 1 and m[i["digits"], i["other"]] == 1 and m.sum() == 4


def test_foreign_alphabet_crops_use_the_font_split():
    """Cyrillic and Greek "other" crops come from several faces of each split, never from a face of the other
    split, so the held-out check sees foreign words in faces training never drew."""
    from models.recognition.render import _alphabet_fonts, render_crop
    from models.synth.fonts import load_fonts
    train, held = _alphabet_fonts("train"), _alphabet_fonts("eval")
    assert len(train) > 3 and len(held) > 1 and not set(train) & set(held)
    eval_names = {f.path.rsplit("/", 1)[1] for f in load_fonts("eval").fonts}
    rng = np.random.default_rng(3)
    drawn = set()
    for _ in range(60):
        c = render_crop(rng, "other", split="eval")
        if not any(ord(ch) > 0x2E80 for ch in c.text):
            drawn.add(c.font)
            assert c.font in eval_names and c.image.shape[0] == 32
    assert len(drawn) > 1


# ----------------------------------------------------------------------------------- routing
WORDS = [("서울", "hangul", (20, 20, 120, 60)), ("Total", "latin", (140, 20, 260, 60)),
         ("12,000", "digits", (280, 20, 420, 60)), ("※", "other", (440, 20, 480, 60))]


def render_page():
    img = Image.new("RGB", (500, 80), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype("/usr/share/fonts/truetype/nanum/NanumGothic.ttf", 30)
    for text, _, (x0, y0, _x1, _y1) in WORDS:
        draw.text((x0, y0), text, font=font, fill="black")
    return np.asarray(img)


class BoxDetector:
    def detect(self, images):
        return [Page(width=im.shape[1], height=im.shape[0],
                     words=[Word(quad=box_to_quad(*box)) for _, _, box in WORDS]) for im in images]


class ByPosition:
    """A stand-in script identifier that knows the page layout (the crop width identifies the word)."""
    def classify(self, crops):
        widths = {int(round((b[2] - b[0]) * 32 / (b[3] - b[1]))): s for _, s, b in WORDS}
        return [(widths[c.shape[1]], 1.0) for c in crops]


class Tagger:
    def __init__(self, tag):
        self.tag, self.seen = tag, []

    def recognize(self, crops, lines=False):
        self.seen.extend(c.shape for c in crops)
        return [(f"{self.tag}{i}", 0.5) for i in range(len(crops))]


def test_pipeline_routes_each_crop_to_its_script_model():
    recs = {"hangul": Tagger("H"), "latin": Tagger("L"), "*": Tagger("*")}
    page = Pipeline(detector=BoxDetector(), script_id=ByPosition(), recognizers=recs).run([render_page()])[0]
    assert [w.script for w in page.words] == ["hangul", "latin", "digits", "other"]
    assert [w.text for w in page.words] == ["H0", "L0", "*0", "*1"]     # digits and other fall back to "*"
    assert len(recs["hangul"].seen) == len(recs["latin"].seen) == 1 and len(recs["*"].seen) == 2
    assert all(shape[0] == 32 for r in recs.values() for shape in r.seen)


def test_each_reader_gets_word_crops_with_its_own_margin():
    padded = Tagger("P")
    padded.crop_pad = 0.25          # a recognizer trained on crops with a margin of 1/4 of the word height
    pipe = Pipeline(detector=BoxDetector(), script_id=ByPosition(), recognizers={"*": padded})
    page = pipe.run([render_page()])[0]
    assert [w.script for w in page.words] == ["hangul", "latin", "digits", "other"]   # unpadded crops
    expected = [round((b[2] - b[0] + 0.5 * (b[3] - b[1])) * 32 / (1.5 * (b[3] - b[1]))) for _, _, b in WORDS]
    assert [shape[1] for shape in padded.seen] == expected


def test_a_region_reading_stage_gets_a_reader_of_its_own_page():
    class Regions:
        reads_regions = True

        def __call__(self, page, reader=None):
            page.meta["read"] = reader([box_to_quad(20, 20, 260, 60)])      # two words as one crop
            reader([box_to_quad(20, 20, 260, 60)], pad=0.0)                  # ... and with a margin of its own
            return page

    class PageOnly:
        def __call__(self, page):
            page.meta["plain"] = True
            return page
    padded = Tagger("P")
    padded.crop_pad = 0.25
    page = Pipeline(detector=BoxDetector(), recognizers={"*": padded}, stages=[Regions(), PageOnly()]).run(
        [render_page()])[0]
    assert page.meta["read"] == [("P0", 0.5)] and page.meta["plain"]
    assert padded.seen[-2][1] == round((240 + 0.5 * 40) * 32 / (1.5 * 40))     # the region, with the margin
    assert padded.seen[-1][1] == round(240 * 32 / 40)                           # pad=0.0: the quad alone
    # without a recognizer there is nothing to read regions with: the stage is called without a reader
    plain = Pipeline(detector=BoxDetector(), stages=[PageOnly()]).run([render_page()])[0]
    assert plain.meta["plain"]


def test_script_weights_round_trip(tmp_path):
    from models.weights import save_weights, sha256_file
    model = ScriptCNN().eval()
    pt = save_weights("script_id", model.state_dict(), {"architecture": model.cfg.to_dict()}, tmp_path)
    pred = ScriptPredictor.from_weights("script_id", tmp_path)
    assert pred.version == sha256_file(pt)[:12] and pred.crop_pad == 0.0     # a recipe without a margin
    crops = [np.random.default_rng(0).integers(0, 256, (32, 70), dtype=np.uint8)]
    np.testing.assert_allclose(pred.probabilities(crops), ScriptPredictor(model).probabilities(crops), atol=1e-6)


def test_shipped_script_id_agrees_in_bf16_and_fp32():
    from models.geometry import crop_quad
    from models.precision import cpu_has_bf16
    if not cpu_has_bf16():
        pytest.skip("CPU without native bf16")
    page = render_page()
    crops = [crop_quad(page, box_to_quad(*box), height=32, pad=0.12) for _, _, box in WORDS]
    fp32 = ScriptPredictor.from_weights("script_id", precision="fp32")
    bf16 = ScriptPredictor.from_weights("script_id", precision="bf16")
    assert bf16.precision == "bf16" and fp32.precision == "fp32"
    assert [s for s, _ in bf16.classify(crops)] == [s for s, _ in fp32.classify(crops)]
    np.testing.assert_allclose(bf16.probabilities(crops), fp32.probabilities(crops), atol=0.05)
    with pytest.raises(ValueError):
        ScriptPredictor.from_weights("script_id", precision="int8")


def test_train_script_cli_sizes_the_cnn(tmp_path, monkeypatch):
    from jobs.cli import main
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert main(["train", "script", "--steps", "2", "--batch-size", "4", "--widths", "8", "8", "16", "16",
                 "--eval-per-class", "0", "--weights-dir", str(tmp_path), "--log-every", "1"]) == 0
    pred = ScriptPredictor.from_weights("script_id", tmp_path)
    assert pred.model.cfg.widths == (8, 8, 16, 16) and len(pred.classify([render_page()[:, :200]])) == 1
