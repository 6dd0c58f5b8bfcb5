"""The recognizer's reread of doubtful crops: the consensus of its readings, the stretch, and which crops are
read again."""
import numpy as np
import pytest
import torch

from models.recognition.charset import Charset
from models.recognition.model import ColumnViTSTR, ColumnViTSTRConfig
from models.recognition.decode import ctc_greedy, ctc_log_likelihood
from models.recognition.lexicon import Lexicon
from models.recognition.predictor import REREAD_SCALES, RecognitionPredictor, consensus, stretch, vote


def test_vote_majority_then_summed_confidence_then_order():
    assert vote([("a", 0.2), ("b", 0.9), ("a", 0.3)]) == ("a", 0.3)        # two reads beat one confident read
    assert vote([("a", 0.5), ("b", 0.3), ("b", 0.3)]) == ("b", 0.3)
    assert vote([("a", 0.4), ("b", 0.3), ("b", 0.2), ("a", 0.05)]) == ("b", 0.3)   # 2:2, summed 0.5 > 0.45
    assert vote([("x", 0.4), ("y", 0.4)]) == ("x", 0.4)                    # a full tie keeps the first read
    assert vote([("only", 0.1)]) == ("only", 0.1)
    with pytest.raises(ValueError):
        vote([])


CHARSET = Charset("0123456789abc")


def peaked(text: str, p: float, blank: float = 0.9) -> torch.Tensor:
    """(T, C) log-probs whose greedy reading is `text`: a blank frame, then each character (probability p,
    the rest spread evenly) followed by a blank frame (probability `blank`)."""
    c = CHARSET.num_classes
    frames = [(0, blank)]
    for ch in text:
        frames += [(CHARSET.encode(ch)[0], p), (0, blank)]
    probs = np.zeros((len(frames), c))
    for t, (k, q) in enumerate(frames):
        probs[t] = (1 - q) / (c - 1)
        probs[t, k] = q
    return torch.from_numpy(np.log(probs)).float()


def test_peaked_log_probs_read_as_their_text():
    lp = peaked("a1b", 0.6)
    assert ctc_greedy(lp[None], torch.tensor([lp.shape[0]]), CHARSET)[0][0] == "a1b"


def test_ctc_log_likelihood_sums_the_views_and_knows_what_a_view_cannot_emit():
    one, two = peaked("ab", 0.8), peaked("a0b", 0.8)
    ll = ctc_log_likelihood(["ab", "a0b"], [one], CHARSET)
    assert ll[0] > ll[1] and np.all(ll < 0)
    both = ctc_log_likelihood(["ab", "a0b"], [one, two], CHARSET)
    assert np.allclose(both, ll + ctc_log_likelihood(["ab", "a0b"], [two], CHARSET))
    assert ctc_log_likelihood(["0" * 9], [peaked("0", 0.9)], CHARSET)[0] == -np.inf     # 9 zeros need 17 frames
    # raw logits (log-probs plus any constant a frame) shift every text's score alike: the same ranking
    shift = torch.linspace(-3.0, 5.0, one.shape[0])[:, None]
    raw = ctc_log_likelihood(["ab", "a0b", "b"], [one + shift], CHARSET)
    assert np.allclose(raw - ctc_log_likelihood(["ab", "a0b", "b"], [one], CHARSET), float(shift.sum()), atol=1e-4)
    with pytest.raises(ValueError):
        ctc_log_likelihood(["ab"], [torch.zeros(5, 3)], CHARSET)


def test_consensus_counts_the_mass_a_majority_of_greedy_reads_drops():
    # two views read "ab" but give the dropped "0" between them 0.4 of a frame; one view reads "a0b" sharply
    doubt = np.full(CHARSET.num_classes, 0.05 / (CHARSET.num_classes - 2))
    doubt[0], doubt[CHARSET.encode("0")[0]] = 0.55, 0.4
    dropped = peaked("ab", 0.9)
    dropped = torch.cat([dropped[:2], torch.from_numpy(np.log(doubt)).float()[None], dropped[2:]])
    assert ctc_greedy(dropped[None], torch.tensor([dropped.shape[0]]), CHARSET)[0][0] == "ab"
    reads = [("ab", 0.5), ("ab", 0.5), ("a0b", 0.4)]
    views = [dropped, dropped, peaked("a0b", 0.95)]
    assert vote(reads)[0] == "ab"
    assert consensus(reads, views, CHARSET) == ("a0b", 0.4)
    # sharp views of the majority's text keep it
    assert consensus(reads, [peaked("ab", 0.95), peaked("ab", 0.95), peaked("a0b", 0.6)], CHARSET) == ("ab", 0.5)
    assert consensus([("c", 0.3), ("c", 0.6)], [peaked("c", 0.3), peaked("c", 0.6)], CHARSET) == ("c", 0.6)
    with pytest.raises(ValueError):
        consensus(reads, views[:2], CHARSET)


def test_consensus_falls_back_to_the_vote_where_no_view_can_emit_a_reading():
    reads = [("0000", 0.2), ("1111", 0.3), ("1111", 0.1)]
    short = peaked("0", 0.9)[:3]                          # 3 frames: no text of four characters fits
    assert consensus(reads, [short, short, short], CHARSET) == vote(reads) == ("1111", 0.3)


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
    model = ColumnViTSTR(ColumnViTSTRConfig(num_classes=CHARSET.num_classes, dim=32, depth=1, heads=2,
                                            dropout=0.0)).eval()
    return RecognitionPredictor(model, CHARSET, precision="fp32")


class Scripted:
    """Stands in for RecognitionPredictor._read: a read by the crop's width (first pixel = crop id), with
    log-probs `peaked` at the read text with its confidence."""

    def __init__(self, first: dict[int, tuple[str, float]], stretched: dict[int, list[tuple[str, float]]]):
        self.first, self.stretched, self.calls = first, stretched, []

    def __call__(self, norm, lines, keep_below=None):
        self.calls.append([(int(c[0, 0]), c.shape[1]) for c in norm])
        out = []
        for c in norm:
            crop_id = int(c[0, 0])
            if len(self.calls) == 1:
                out.append(self.first[crop_id])
            else:
                k = [round(100 * s) for s in REREAD_SCALES].index(c.shape[1])   # which scale made this width
                out.append(self.stretched[crop_id][k])
        if keep_below is None:
            return out
        return out, [peaked(t, conf) if conf < keep_below else None for t, conf in out]


def crops_with_ids(n):
    """Crops of width 100 whose ink map (inverted gray) starts with the crop's id."""
    crops = []
    for i in range(n):
        c = np.full((32, 100), 255, np.uint8)
        c[0, :4] = 255 - i          # a few columns: a stretched map keeps the id in its first pixel
        crops.append(c)
    return crops


def test_only_doubtful_crops_are_read_again_until_two_readings_agree(predictor, monkeypatch):
    first = {0: ("sure", 0.99), 1: ("b0", 0.3), 2: ("fine", 0.95), 3: ("c0", 0.1), 4: ("a0", 0.2)}
    stretched = {1: [("b1", 0.5), ("b1", 0.5), ("b0", 0.5)], 3: [("c0", 0.5), ("c9", 0.5), ("c8", 0.5)],
                 4: [("a1", 0.6), ("a2", 0.5), ("a3", 0.4)]}     # per REREAD_SCALES
    fake = Scripted(first, stretched)
    monkeypatch.setattr(predictor, "_read", fake)
    predictor.set_reread()
    try:
        out = predictor.recognize(crops_with_ids(5))
    finally:
        predictor.set_reread(())
    assert [t for t, _ in out] == ["sure", "b1", "fine", "c0", "a1"]
    assert out[0] == ("sure", 0.99) and out[3] == ("c0", 0.5)              # best conf among the agreeing reads
    # the confident crops are never reread; crop 3 agrees at the first scale, crop 1 at the second, and crop 4,
    # whose readings never agree, is read at every scale and keeps the reading its views find likeliest
    width = [round(100 * s) for s in REREAD_SCALES]
    assert fake.calls[1:] == [[(1, width[0]), (3, width[0]), (4, width[0])], [(1, width[1]), (4, width[1])],
                              [(4, width[2])]]


def test_the_reread_spells_its_doubtful_words_from_the_lexicon(predictor, monkeypatch):
    # crop 1 is doubtful and read "cbb" at every scale, its views giving "a" some mass; crop 0 is sure
    def scripted():
        return Scripted({0: ("cbb", 0.99), 1: ("cbb", 0.5)}, {1: [("cbb", 0.5)] * 3})

    monkeypatch.setattr(predictor, "_read", scripted())
    predictor.set_reread()
    try:
        assert "received" in predictor.lexicon                  # the English list, on with the reread
        predictor.lexicon = Lexicon(["cab"])
        assert [t for t, _ in predictor.recognize(crops_with_ids(2))] == ["cbb", "cab"]
        predictor.set_reread(lexicon=False)
        assert predictor.lexicon is None
        monkeypatch.setattr(predictor, "_read", scripted())
        assert [t for t, _ in predictor.recognize(crops_with_ids(2))] == ["cbb", "cbb"]
    finally:
        predictor.set_reread(())
    assert predictor.lexicon is None                            # no reread, no lexicon


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
