"""Recognizer building blocks: charset, column patching, padding mask, CTC decoding, predictor checks."""
import numpy as np
import pytest
import torch

from models.recognition.charset import Charset
from models.recognition.data import CropSpec, ink_crop, normalize_crop, pad_batch, to_model_input, width_buckets
from models.recognition.decode import ctc_greedy
from models.recognition.model import ColumnPatchEmbed, ColumnViTSTR, ColumnViTSTRConfig, ctc_loss
from models.recognition.predictor import RecognitionPredictor
from models.synth.charset import HANGUL_KSX1001


@pytest.fixture(scope="module")
def charset():
    return Charset.default()


def tiny_model(charset, seed=0, stem="linear"):
    torch.manual_seed(seed)
    cfg = ColumnViTSTRConfig(num_classes=charset.num_classes, dim=32, depth=2, heads=2, dropout=0.0, max_tokens=64,
                             stem=stem, stem_channels=(8, 8, 16))
    return ColumnViTSTR(cfg).eval()


def test_every_hangul_syllable_round_trips(charset):
    ids = charset.encode(HANGUL_KSX1001)
    assert len(set(ids)) == 2350 and min(ids) >= 1            # 0 is the CTC blank
    assert charset.decode(ids) == HANGUL_KSX1001


@pytest.mark.parametrize("text", ["Total: ₩12,000 (VAT 10%)", "서울특별시 강남구 ※ 참고", "a·b [x] {y} <z>", "E-mail@x.org"])
def test_document_text_round_trips(charset, text):
    assert charset.decode(charset.encode(text)) == text


def test_unknown_character_is_a_value_error(charset):
    with pytest.raises(ValueError, match="not in the charset"):
        charset.encode("Москва")
    assert charset.encode("\u2013") == charset.encode("-")       # typographic dash folds onto '-'


def test_conv_stem_gives_one_token_per_4_px_column_in_reading_order():
    from models.recognition.model import ConvColumnEmbed
    torch.manual_seed(0)
    embed = ConvColumnEmbed(height=32, dim=16, channels=(8, 8, 16)).eval()
    img = torch.zeros(1, 1, 32, 64)
    img[0, 0, 8:24, 40:44] = 1.0                                  # one stroke in pixel columns 40..43
    with torch.no_grad():
        out, blank = embed(img), embed(torch.zeros(1, 1, 32, 64))
    assert out.shape == (1, 16, 16)
    changed = (out - blank).abs().sum(-1)[0] > 1e-6
    assert changed[10] and not changed[:8].any() and not changed[13:].any()   # only tokens near column 10
    with pytest.raises(ValueError):
        embed(torch.zeros(1, 1, 32, 62))
    with pytest.raises(ValueError):
        ColumnViTSTRConfig(num_classes=10, stem="conv", patch_width=2)


def test_column_patches_keep_reading_order():
    embed = ColumnPatchEmbed(height=4, patch_width=2, dim=8)
    img = torch.arange(4 * 6, dtype=torch.float32).reshape(1, 1, 4, 6)
    cols = embed.patches(img)                                     # (1, 3, 4 * 2)
    assert cols.shape == (1, 3, 8)
    for t in range(3):                                            # token t = pixel columns 2t, 2t+1, all rows
        expected = img[0, 0, :, 2 * t: 2 * t + 2].reshape(-1)
        assert torch.equal(cols[0, t], expected)
    with pytest.raises(ValueError):
        embed.patches(torch.zeros(1, 1, 4, 5))


@pytest.mark.parametrize("stem", ["linear", "conv"])
def test_padding_changes_nothing_for_unpadded_crops(charset, stem):
    model = tiny_model(charset, stem=stem)
    rng = np.random.default_rng(0)
    crops = [rng.random((32, w)).astype(np.float32) for w in (12, 40, 100)]
    batch, widths = pad_batch(crops, 4)
    with torch.no_grad():
        logits, lengths = model(batch, widths)
        for i, c in enumerate(crops):
            alone, alone_w = pad_batch([c], 4)
            single, n = model(alone, alone_w)
            assert int(n[0]) == int(lengths[i]) == -(-c.shape[1] // 4)
            torch.testing.assert_close(logits[i, : n[0]], single[0, : n[0]], atol=1e-5, rtol=1e-5)
        # without the mask, the padding would leak into the short crop's tokens
        unmasked, _ = model(batch, None)
        assert not torch.allclose(unmasked[0, : lengths[0]], logits[0, : lengths[0]], atol=1e-4)


def test_ctc_greedy_on_hand_made_logits(charset):
    a, b = charset.encode("ab")
    seq = [a, a, 0, b, 0, b, b, 0]                                # a a _ b _ b b _ -> "abb"
    logits = torch.full((2, len(seq), charset.num_classes), -10.0)
    for t, k in enumerate(seq):
        logits[0, t, k] = 10.0
    logits[1, :, 0] = 10.0                                        # all blank -> ""
    logits[1, 0, a] = 20.0                                        # ... but beyond its length 1, ignored
    (text0, conf0), (text1, conf1) = ctc_greedy(logits, torch.tensor([8, 1]), charset)
    assert text0 == "abb" and conf0 > 0.99
    assert text1 == "a"
    with pytest.raises(ValueError):
        ctc_greedy(logits[0], torch.tensor([8]), charset)


def _ctc_greedy_one_by_one(logits, lengths, charset):
    """The per-crop reference the batched decoder must agree with."""
    out = []
    for lg, n in zip(logits, lengths.tolist()):
        p = lg[:n].float().softmax(-1)
        best_p, ids = p.max(-1)
        ids, best_p = ids.numpy(), best_p.numpy()
        keep = (ids != 0) & np.concatenate([[True], ids[1:] != ids[:-1]])
        conf = float(np.prod(best_p[keep])) if keep.any() else 1.0
        if (ids == 0).any():
            conf *= float(best_p[ids == 0].mean())
        out.append((charset.decode(ids[keep]), conf))
    return out


def test_batched_ctc_decoding_matches_decoding_each_crop_alone(charset):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(16, 30, 12, generator=g) * 3          # few classes: many repeats and blanks
    logits[:, :, 0] += 1.0
    lengths = torch.randint(0, 31, (16,), generator=g)
    lengths[0], lengths[1] = 0, 30
    got, want = ctc_greedy(logits, lengths, charset), _ctc_greedy_one_by_one(logits, lengths, charset)
    assert [t for t, _ in got] == [t for t, _ in want]
    np.testing.assert_allclose([c for _, c in got], [c for _, c in want], rtol=1e-4)
    assert got[0] == ("", 1.0)                                   # no valid token: empty, confident


def test_uint8_ink_batches_equal_the_float_ones():
    rng = np.random.default_rng(0)
    spec = CropSpec()
    crops = [rng.integers(0, 256, (int(h), int(w)), dtype=np.uint8) for h, w in ((20, 50), (40, 90), (32, 7))]
    crops.append(np.full((24, 30), 20, np.uint8))                  # dark background: flipped
    ink, = [pad_batch([ink_crop(c, spec) for c in crops], 4)[0]]
    flt, = [pad_batch([normalize_crop(c, spec) for c in crops], 4)[0]]
    assert ink.dtype == torch.uint8 and flt.dtype == torch.float32
    torch.testing.assert_close(to_model_input(ink, torch.device("cpu")), flt)
    assert to_model_input(flt, torch.device("cpu")) is flt        # float batches pass through


def test_ctc_loss_prefers_the_right_alignment(charset):
    a, b = charset.encode("ab")
    good = torch.full((1, 4, charset.num_classes), -5.0)
    for t, k in enumerate([a, 0, b, 0]):
        good[0, t, k] = 5.0
    bad = good.flip(1)
    target, lens = torch.tensor([a, b]), torch.tensor([2])
    assert ctc_loss(good, torch.tensor([4]), target, lens) < ctc_loss(bad, torch.tensor([4]), target, lens)


def test_normalisation_flips_dark_background_and_checks_input():
    spec = CropSpec()
    light = np.full((16, 20), 230, np.uint8)
    light[4:12, 5:15] = 20
    dark = 255 - light
    np.testing.assert_allclose(normalize_crop(light, spec), normalize_crop(dark, spec), atol=1 / 255)
    assert normalize_crop(light, spec).shape == (32, 40)         # height 32, aspect kept
    rgb = np.repeat(light[:, :, None], 3, axis=2)
    np.testing.assert_allclose(normalize_crop(rgb, spec), normalize_crop(light, spec), atol=2 / 255)
    for bad in (light.astype(np.float32), np.zeros((1, 5), np.uint8), np.zeros((4, 4, 2), np.uint8)):
        with pytest.raises(ValueError):
            normalize_crop(bad, spec)


def test_width_buckets_cover_every_index_once():
    widths = [50, 10, 300, 20, 40, 41, 12]
    buckets = width_buckets(widths, 3)
    flat = [i for b in buckets for i in b]
    assert sorted(flat) == list(range(len(widths)))
    assert [widths[i] for i in flat] == sorted(widths)


def test_predictor_keeps_input_order_and_rejects_bad_input(charset):
    pred = RecognitionPredictor(tiny_model(charset), charset, precision="fp32", batch_size=2)
    rng = np.random.default_rng(1)
    crops = [rng.integers(0, 255, (32, w), dtype=np.uint8) for w in (80, 8, 30, 200, 31)]
    together = pred.recognize(crops)
    one_by_one = [pred.recognize([c])[0] for c in crops]
    assert [t for t, _ in together] == [t for t, _ in one_by_one]
    assert all(0.0 <= c <= 1.0 for _, c in together)
    with pytest.raises(ValueError):
        pred.recognize([np.zeros((32, 10), np.float32)])
    with pytest.raises(ValueError):
        pred.recognize(np.zeros((32, 10), np.uint8))
    with pytest.raises(ValueError):
        RecognitionPredictor(tiny_model(charset), charset, precision="fp64")


def test_weights_round_trip_and_version(tmp_path, charset):
    from models.recognition.training import RecognizerTrainConfig, weights_config
    from models.weights import save_weights, sha256_file
    cfg = RecognizerTrainConfig(dim=32, depth=1, heads=2)
    model = ColumnViTSTR(cfg.model_config(charset)).eval()
    pt = save_weights("recognizer", model.state_dict(), weights_config(cfg, model, charset), tmp_path)
    pred = RecognitionPredictor.from_weights("recognizer", tmp_path, precision="fp32")
    assert pred.version == sha256_file(pt)[:12] and pred.charset == charset
    from models.recognition.data import WORD_CROP_PAD
    assert pred.crop_pad == WORD_CROP_PAD > 0       # the margin it trained with travels in the recipe
    assert RecognitionPredictor(model, charset, precision="fp32").crop_pad == 0.0
    crops = [np.full((32, 50), 255, np.uint8)]
    direct = RecognitionPredictor(model, charset, precision="fp32").recognize(crops)
    assert pred.recognize(crops) == direct


def _logits_of(charset, frames):
    """(1, T, C) logits from per-frame {class: probability} dicts (the rest of the mass on nothing)."""
    logits = torch.full((1, len(frames), charset.num_classes), -30.0)
    for t, probs in enumerate(frames):
        for k, p in probs.items():
            logits[0, t, k] = float(np.log(p))
    return logits


def test_space_rescue_puts_a_space_in_a_gap_that_leans_to_one(charset):
    a, b = charset.encode("ab")
    sp = charset.encode(" ")[0]
    gap = [{a: 0.9, 0: 0.1}, {0: 0.7, sp: 0.2}, {0: 0.55, sp: 0.45}, {0: 0.8, sp: 0.2}, {b: 0.9, 0: 0.1}]
    logits, n = _logits_of(charset, gap), torch.tensor([len(gap)])
    assert ctc_greedy(logits, n, charset)[0][0] == "ab"                      # argmax: the space is lost
    (text, conf), = ctc_greedy(logits, n, charset, space_threshold=0.3)
    assert text == "a b"
    assert conf < ctc_greedy(logits, n, charset)[0][1]                      # a doubtful space lowers it
    assert ctc_greedy(logits, n, charset, space_threshold=0.5)[0][0] == "ab"   # 0.45 < 0.5: no space


def test_space_rescue_never_pads_the_ends_or_doubles_a_space(charset):
    a, b = charset.encode("ab")
    sp = charset.encode(" ")[0]
    lean = {0: 0.6, sp: 0.4}
    ends = [lean, {a: 0.9, 0: 0.1}, lean, {b: 0.9, 0: 0.1}, lean]                  # leading, inner, trailing
    assert ctc_greedy(_logits_of(charset, ends), torch.tensor([5]), charset, 0.3)[0][0] == "a b"
    beside = [{a: 0.9, 0: 0.1}, lean, {sp: 0.9, 0: 0.1}, lean, {b: 0.9, 0: 0.1}]   # a space read already
    assert ctc_greedy(_logits_of(charset, beside), torch.tensor([5]), charset, 0.3)[0][0] == "a b"
    # beyond a crop's length nothing counts: the gap at t=2 has no character after it within the length, so "a" alone
    assert ctc_greedy(_logits_of(charset, ends[:2] + [lean, {b: 0.9, 0: 0.1}]), torch.tensor([3]), charset,
                      0.3)[0][0] == "a"


def test_a_cached_held_out_set_is_rendered_again_when_the_generator_draws_other_texts(tmp_path, capsys,
                                                                                      monkeypatch):
    from models.recognition import eval_sets
    from models.recognition.eval_sets import EVAL_SCRIPTS, synthetic_eval_pool
    from models.recognition.sources import CropPool

    first = synthetic_eval_pool(4, tmp_path)
    path = tmp_path / "eval_auto_4.npz"
    assert len(first) == 4 * len(EVAL_SCRIPTS) and path.exists()
    again = synthetic_eval_pool(4, tmp_path)                    # what the generator draws now: the cache serves
    assert again.texts == first.texts and "rendering it again" not in capsys.readouterr().err
    stale = CropPool(first.strip, first.offsets, list(first.texts), list(first.scripts))
    stale.texts[4] = "an older generator's word"               # the first Latin crop of a set cached long ago
    stale.save(path)
    fresh = synthetic_eval_pool(4, tmp_path)
    assert fresh.texts == first.texts and "rendering it again" in capsys.readouterr().err
    assert CropPool.load(path).texts == first.texts             # and the cache holds the set of now
    # a machine without the held-out faces (the GPU machine carries the set, not the fonts) uses the cache
    def no_faces(*_args):
        raise ValueError("a FontSet needs at least one font")
    monkeypatch.setattr(eval_sets, "script_source", no_faces)
    stale.save(path)
    assert synthetic_eval_pool(4, tmp_path).texts == stale.texts
    assert "using the cached set" in capsys.readouterr().err
