"""The recognizer's reread of doubtful crops: the vote, the stretch, and which crops are read again."""
import numpy as np
import pytest
import torch

from models.recognition.charset import Charset
from models.recognition.model import ColumnViTSTR, ColumnViTSTRConfig
from models.recognition.predictor import REREAD_SCALES, RecognitionPredictor, stretch, vote


def test_vote_majority_then_summed_confidence_then_order():
    assert vote([("a", 0.2), ("b", 0.9), ("a", 0.3)]) == ("a", 0.3)        # two reads beat one confident read
    assert vote([("a", 0.5), ("b", 0.3), ("b", 0.3)]) == ("b", 0.3)
    assert vote([("a", 0.4), ("b", 0.3), ("b", 0.2), ("a", 0.05)]) == ("b", 0.3)   # 2:2, summed 0.5 > 0.45
    assert vote([("x", 0.4), ("y", 0.4)]) == ("x", 0.4)                    # a full tie keeps the first read
    assert vote([("only", 0.1)]) == ("only", 0.1)
    with pytest.raises(ValueError):
        vote([])


def test_stretch_scales_the_width_keeps_the_height_and_clamps():
    ink = np.zeros((32, 100), np.uint8)
    ink[:, 40:60] = 255
    wide = stretch(ink, 1.2, max_width=1536)
    assert wide.shape == (32, 120) and wide.dtype == np.uint8
    band = np.flatnonzero(wide[16] > 127)
    assert band.size == 24 and band[0] == 48                                # 20 ink columns at 40 -> 24 at 48
    assert stretch(ink, 0.9, 1536).shape == (32, 90)
    assert stretch(ink, 1.2, max_width=110).shape == (32, 110)
    assert stretch(ink, 1.001, 1536) is ink                                 # same width: no resampling


@pytest.fixture(scope="module")
def predictor():
    torch.manual_seed(0)
    charset = Charset("0123456789abc")
    model = ColumnViTSTR(ColumnViTSTRConfig(num_classes=charset.num_classes, dim=32, depth=1, heads=2,
                                            dropout=0.0)).eval()
    return RecognitionPredictor(model, charset, precision="fp32")


class Scripted:
    """Stands in for RecognitionPredictor._read: a read by the crop's width (first pixel = crop id)."""

    def __init__(self, first: dict[int, tuple[str, float]], stretched: dict[int, list[str]]):
        self.first, self.stretched, self.calls = first, stretched, []

    def __call__(self, norm, lines):
        self.calls.append([(int(c[0, 0]), c.shape[1]) for c in norm])
        if len(self.calls) == 1:
            return [self.first[int(c[0, 0])] for c in norm]
        out = []
        for c in norm:
            crop_id = int(c[0, 0])
            k = [round(100 * s) for s in REREAD_SCALES].index(c.shape[1])   # which scale made this width
            out.append((self.stretched[crop_id][k], 0.5))
        return out


def crops_with_ids(n):
    """Crops of width 100 whose ink map (inverted gray) starts with the crop's id."""
    crops = []
    for i in range(n):
        c = np.full((32, 100), 255, np.uint8)
        c[0, :4] = 255 - i          # a few columns: a stretched map keeps the id in its first pixel
        crops.append(c)
    return crops


def test_only_doubtful_crops_are_read_again_until_two_readings_agree(predictor, monkeypatch):
    first = {0: ("sure", 0.99), 1: ("b0", 0.3), 2: ("fine", 0.95), 3: ("d0", 0.1), 4: ("e0", 0.2)}
    stretched = {1: ["b1", "b1", "b0"], 3: ["d0", "d9", "d8"], 4: ["e1", "e2", "e3"]}     # per REREAD_SCALES
    fake = Scripted(first, stretched)
    monkeypatch.setattr(predictor, "_read", fake)
    predictor.set_reread()
    try:
        out = predictor.recognize(crops_with_ids(5))
    finally:
        predictor.set_reread(())
    assert [t for t, _ in out] == ["sure", "b1", "fine", "d0", "e1"]
    assert out[0] == ("sure", 0.99) and out[3] == ("d0", 0.5)              # best conf among the agreeing reads
    # the confident crops are never reread; crop 3 agrees at the first scale, crop 1 at the second, and crop 4,
    # whose readings never agree, is read at every scale and keeps the most confident reading
    width = [round(100 * s) for s in REREAD_SCALES]
    assert fake.calls[1:] == [[(1, width[0]), (3, width[0]), (4, width[0])], [(1, width[1]), (4, width[1])],
                              [(4, width[2])]]


def test_reread_off_reads_once(predictor, monkeypatch):
    fake = Scripted({0: ("x", 0.1)}, {})
    monkeypatch.setattr(predictor, "_read", fake)
    predictor.set_reread(())
    assert predictor.recognize(crops_with_ids(1)) == [("x", 0.1)]
    assert len(fake.calls) == 1


def test_reread_with_the_model_returns_one_read_per_crop(predictor):
    rng = np.random.default_rng(3)
    crops = [rng.integers(0, 256, (32, w), dtype=np.uint8) for w in (30, 90, 150, 12)]
    plain = predictor.recognize(crops)
    predictor.set_reread(below=1.0)            # every crop is doubtful: all are read again
    try:
        again = predictor.recognize(crops)
        assert predictor.recognize([]) == []
    finally:
        predictor.set_reread(())
    assert len(again) == len(crops)
    assert all(isinstance(t, str) and 0.0 <= c <= 1.0 for t, c in again)
    predictor.set_reread(below=0.0)            # nothing is below 0: the reads are the plain ones
    try:
        assert predictor.recognize(crops) == plain
    finally:
        predictor.set_reread(())


@pytest.mark.parametrize("scales, below", [((0.1,), 0.9), ((1.1,), 1.5), ((5.0,), 0.5), ((1.1,), -0.1)])
def test_set_reread_rejects_bad_settings(predictor, scales, below):
    with pytest.raises(ValueError):
        predictor.set_reread(scales, below)
