"""Few-step smoke runs of each recognizer training phase through models.engine (tiny model, fixed batch)."""
import itertools

import numpy as np
import pytest
import torch

from models.engine import TrainConfig, train
from models.recognition.charset import Charset
from models.recognition.data import CropSpec, encode_targets, normalize_crop, pad_batch
from models.recognition.model import ColumnViTSTR, ColumnViTSTRConfig
from models.recognition.phases import FixMatch, SeqCLR, SeqCLRModel, SupervisedCTC, nt_xent, window_pool
from models.recognition.render import draw_text
from models.recognition.sources import CropPool
from models.recognition.training import RecognizerTrainConfig, split_pool, train_recognizer


@pytest.fixture(scope="module")
def charset():
    return Charset.default()


FONT = "/usr/share/fonts/truetype/nanum/NanumGothic.ttf"


def word(rng, text):
    """A crop of `text` in one fixed font (no font discovery: milliseconds)."""
    from PIL import ImageFont
    return draw_text(text, ImageFont.truetype(FONT, 28), rng)


def digits_source(rng):
    text = str(rng.integers(0, 10 ** 6))
    return word(rng, text), text, "digits"


@pytest.fixture(scope="module")
def batch(charset):
    rng = np.random.default_rng(0)
    texts = ["Total", "12,000", "서울", "invoice", "2024-11-25", "₩500"]
    images, widths = pad_batch([normalize_crop(word(rng, t), CropSpec()) for t in texts], 4)
    targets, lengths = encode_targets(texts, charset)
    return {"images": images, "widths": widths, "targets": targets, "target_lengths": lengths,
            "u_images": images, "u_widths": widths}


def tiny(charset):
    torch.manual_seed(0)
    return ColumnViTSTR(ColumnViTSTRConfig(num_classes=charset.num_classes, dim=32, depth=1, heads=2, dropout=0.0))


def run(model, batch, step_fn, steps):
    seen = []
    cfg = TrainConfig(steps=steps, lr=3e-3, warmup=1, log_every=1, ckpt_every=10_000)
    train(model, itertools.repeat(batch), cfg, step_fn=step_fn, log=lambda s, m: seen.append(m["loss"]))
    return seen


def test_supervised_ctc_loss_decreases(charset, batch):
    losses = run(tiny(charset), batch, SupervisedCTC(), 8)
    assert all(np.isfinite(losses)) and losses[-1] < 0.8 * losses[0]


def test_seqclr_steps_are_finite_and_train_the_encoder(charset, batch):
    model = SeqCLRModel(tiny(charset), proj_dim=16)
    before = model.recognizer.embed.proj.weight.detach().clone()
    losses = run(model, batch, SeqCLR(instances=3, seed=0), 4)
    assert all(np.isfinite(losses))
    assert not torch.equal(before, model.recognizer.embed.proj.weight)


def test_nt_xent_rewards_matching_pairs():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(12, 8, generator=g)
    assert nt_xent(a, a + 0.01 * torch.randn(12, 8, generator=g), 0.1) < nt_xent(a, torch.randn(12, 8, generator=g), 0.1)


def test_window_pool_respects_lengths():
    frames = torch.arange(8, dtype=torch.float32).reshape(1, 8, 1).repeat(2, 1, 1)
    pooled = window_pool(frames, torch.tensor([8, 4]), instances=2)
    assert pooled[0, :, 0].tolist() == [1.5, 5.5]          # mean of 0..3 and 4..7
    assert pooled[1, :, 0].tolist() == [0.5, 2.5]          # only the 4 valid frames: 0..1 and 2..3


def test_fixmatch_uses_confident_pseudo_labels_only(charset, batch):
    model = tiny(charset)
    keep_all, keep_none = FixMatch(charset, threshold=0.0), FixMatch(charset, threshold=1.01)
    losses = keep_all(model, batch)
    assert set(losses) == {"ctc", "fixmatch"} and keep_all.last_mask_rate == 1.0
    assert torch.isfinite(losses["fixmatch"])
    none = keep_none(model, batch)
    assert keep_none.last_mask_rate == 0.0 and float(none["fixmatch"]) == 0.0
    run(model, batch, FixMatch(charset, threshold=0.0), 3)      # a few engine steps stay finite


def test_train_recognizer_pool_phases_and_resume(tmp_path, charset):
    pool = CropPool.render(digits_source, 40, seed=1)
    lab, unl = split_pool(pool, 0.25, seed=0)
    assert len(lab) == 10 and len(unl) == 30 and not set(lab.texts) - set(pool.texts)
    small = dict(steps=3, batch_size=4, unlabelled_batch=4, dim=32, depth=1, heads=2, warmup=1, log_every=1,
                 ckpt_every=1, pool_size=40, label_fraction=0.25, bf16=False)
    for phase in ("supervised", "seqclr", "fixmatch"):
        cfg = RecognizerTrainConfig(phase=phase, fixmatch_threshold=0.0, **small)
        model, summary = train_recognizer(cfg, charset=charset, pool=pool, ckpt_path=tmp_path / f"{phase}.ckpt")
        assert summary["step"] == 3 and np.isfinite(summary["loss"]) and isinstance(model, ColumnViTSTR)
    # resuming a finished run does no more steps; a longer run continues from step 3
    cfg = RecognizerTrainConfig(phase="supervised", **{**small, "steps": 4})
    _, summary = train_recognizer(cfg, charset=charset, pool=pool, ckpt_path=tmp_path / "supervised.ckpt")
    assert summary["step"] == 4


def test_worker_streams_keep_the_labelled_split_and_differ_in_draws(charset, tmp_path):
    from models.recognition.training import make_batches

    pool = CropPool.render(digits_source, 40, seed=1)
    cfg = RecognizerTrainConfig(phase="supervised", batch_size=4, pool_size=40, label_fraction=0.25, seed=3,
                                bf16=False)
    labelled = set(split_pool(pool, 0.25, seed=3)[0].texts)

    def texts(stream_seed):
        batch = next(iter(make_batches(cfg, charset, pool, stream_seed=stream_seed)))
        return [charset.decode(t) for t in batch["targets"].split(batch["target_lengths"].tolist())]
    a, b = texts(None), texts(3 + 1_000_003)
    assert set(a) <= labelled and set(b) <= labelled                 # every worker draws the same labels
    assert a != b                                                    # ... in its own order
    assert texts(3) == a                                             # worker 0 = the run's own seed
    small = dict(steps=2, batch_size=4, dim=32, depth=1, heads=2, warmup=1, log_every=1, ckpt_every=1,
                 pool_size=40, label_fraction=0.25, bf16=False)
    _, summary = train_recognizer(RecognizerTrainConfig(**small), charset=charset, pool=pool, workers=2)
    assert summary["step"] == 2 and np.isfinite(summary["loss"])


def test_one_script_training_draws_only_that_script(charset):
    from models.recognition.training import make_batches
    from models.synth.charset import script_of

    cfg = RecognizerTrainConfig(phase="supervised", batch_size=6, pool_script="hangul", bf16=False)
    batch = next(iter(make_batches(cfg, charset)))
    texts = [charset.decode(t) for t in batch["targets"].split(batch["target_lengths"].tolist())]
    assert len(texts) == 6 and {script_of(t) for t in texts} == {"hangul"}


def test_low_resolution_share_reaches_the_fresh_crops(charset, monkeypatch):
    import models.synth.crops as crops
    from models.recognition.training import make_batches
    with pytest.raises(ValueError, match="lowres_p"):
        RecognizerTrainConfig(lowres_p=1.5)
    with pytest.raises(ValueError, match="loose_p"):
        RecognizerTrainConfig(loose_p=-0.1)
    calls = []
    real = crops.lowres_scan
    monkeypatch.setattr(crops, "lowres_scan", lambda img, rng: calls.append(img.shape) or real(img, rng))
    plain = next(iter(make_batches(RecognizerTrainConfig(batch_size=6, seed=3, bf16=False), charset)))
    assert calls == [] and plain["images"].shape[2] == 32
    scanned = next(iter(make_batches(RecognizerTrainConfig(batch_size=6, seed=3, bf16=False, lowres_p=1.0), charset)))
    assert len(calls) >= 6 and scanned["images"].shape[2] == 32      # every crop drawn went through a scan


def test_printer_share_reaches_the_fresh_crops(charset, monkeypatch):
    import models.synth.crops as crops
    from models.recognition.training import make_batches
    with pytest.raises(ValueError, match="print_p"):
        RecognizerTrainConfig(print_p=1.5)
    calls = []
    real = crops.printed_render
    monkeypatch.setattr(crops, "printed_render", lambda text, *a, **k: calls.append(text) or real(text, *a, **k))
    next(iter(make_batches(RecognizerTrainConfig(batch_size=6, seed=3, bf16=False), charset)))
    assert calls == []
    batch = next(iter(make_batches(RecognizerTrainConfig(batch_size=6, seed=3, bf16=False, print_p=1.0), charset)))
    assert len(calls) >= 6 and batch["images"].shape[2] == 32      # every crop drawn was printed


def test_remargin_draws_tight_or_wide_margins_and_keeps_the_ink():
    from models.recognition.sources import TIGHT_MARGINS, WIDE_MARGINS, remargin
    crop = np.zeros((32, 60), np.float32)
    crop[6:26, 10:50] = 1.0                                  # ink from column 10 to 49, 10 px of paper each side
    crop[:, 30] = 0.0
    seen = {"tight": 0, "wide": 0, "cut": 0}
    for k in range(60):
        out = remargin(crop, np.random.default_rng(k), max_width=1536)
        cols = np.flatnonzero((out > 0.3).any(0))
        left, right = cols[0], out.shape[1] - 1 - cols[-1]
        assert out.shape[0] == 32 and (out[:, cols[0]:cols[-1] + 1] > 0.3).sum() >= 0.9 * (crop > 0.3).sum()
        if max(left, right) <= round(32 * TIGHT_MARGINS[1]):
            seen["tight"] += 1
            assert out.shape[1] >= 40 - 2 * round(-32 * TIGHT_MARGINS[0])     # at most a pixel cut each side
            seen["cut"] += cols[-1] - cols[0] + 1 < 40                          # ... and now and then one
        else:
            seen["wide"] += 1
            assert round(32 * WIDE_MARGINS[0]) <= left <= round(32 * WIDE_MARGINS[1])
            assert round(32 * WIDE_MARGINS[0]) <= right <= round(32 * WIDE_MARGINS[1])
    assert seen["tight"] > 10 and seen["wide"] > 20 and seen["cut"] > 0
    blank = np.zeros((32, 20), np.float32)
    assert remargin(blank, np.random.default_rng(0), 1536) is blank                  # no ink: unchanged
    assert remargin(crop, np.random.default_rng(1), max_width=45).shape[1] <= 60     # never past max_width


def test_margin_banner_and_double_width_shares_reach_the_batches(charset, monkeypatch):
    import models.recognition.sources as sources
    import models.synth.crops as crops
    from models.recognition.training import make_batches
    for name in ("margin_p", "banner_p", "double_p"):
        with pytest.raises(ValueError, match=name):
            RecognizerTrainConfig(**{name: 1.5})
    calls = {"remargin": 0, "banner": 0}
    real_remargin, real_banner = sources.remargin, crops.banner
    monkeypatch.setattr(sources, "remargin", lambda *a, **k: calls.__setitem__("remargin", calls["remargin"] + 1)
                        or real_remargin(*a, **k))
    monkeypatch.setattr(crops, "banner", lambda *a, **k: calls.__setitem__("banner", calls["banner"] + 1)
                        or real_banner(*a, **k))
    next(iter(make_batches(RecognizerTrainConfig(batch_size=6, seed=3, bf16=False), charset)))
    assert calls == {"remargin": 0, "banner": 0}
    cfg = RecognizerTrainConfig(batch_size=6, seed=3, bf16=False, margin_p=1.0, banner_p=1.0)
    batch = next(iter(make_batches(cfg, charset)))
    assert calls["remargin"] >= 6 and calls["banner"] >= 6 and batch["images"].shape[2] == 32


def test_rule_share_draws_separator_rules_the_charset_encodes(charset):
    """`rule_p`: runs of one rule character ("-----", "= = =") as labelled crops; 0 draws none, 1 only
    them; out of [0, 1] it is refused."""
    from models.recognition.sources import RULE_CHARS, rule_text, word_source
    from models.recognition.training import make_batches

    with pytest.raises(ValueError, match="rule_p"):
        RecognizerTrainConfig(rule_p=-0.1)
    rng = np.random.default_rng(0)
    rules = [rule_text(rng) for _ in range(200)]
    assert all(len(set(r.replace(" ", ""))) == 1 and r[0] in RULE_CHARS for r in rules)
    assert all(3 <= len(r.replace(" ", "")) <= 60 for r in rules)
    assert any(" " in r for r in rules) and any(" " not in r for r in rules)
    assert {r[0] for r in rules} == set(RULE_CHARS)
    assert all(charset.encode(r) for r in rules)

    def is_rule(t):
        return len(set(t.replace(" ", ""))) == 1 and t[0] in RULE_CHARS and len(t) >= 3
    only = word_source("train", engine="synth", rule_p=1.0)
    crops = [only(rng) for _ in range(8)]
    assert all(is_rule(t) and img.shape[0] == 32 for img, t, _ in crops)
    none = word_source("train", engine="synth", rule_p=0.0)
    assert not any(is_rule(none(rng)[1]) for _ in range(20))
    batch = next(iter(make_batches(RecognizerTrainConfig(batch_size=4, seed=3, bf16=False, rule_p=1.0), charset)))
    assert batch["images"].shape[0] == 4


def test_page_share_draws_labelled_words_and_lines_cut_from_rendered_pages(charset):
    from models.recognition.eval_sets import page_crop_source
    from models.recognition.sources import mixed_source
    from models.recognition.training import make_batches
    from models.synth.charset import script_of

    with pytest.raises(ValueError, match="page_p"):
        RecognizerTrainConfig(page_p=2.0)
    rng = np.random.default_rng(0)
    lines = [page_crop_source("train", pad=(0.04, 0.2), lines=1.0)(rng) for _ in range(10)]
    words = [page_crop_source("train", lines=0.0)(rng) for _ in range(10)]
    assert all(" " in t and len(t) <= 48 and s == script_of(t) and img.shape[0] == 32 for img, t, s in lines)
    assert all(" " not in t and img.shape[0] == 32 and img.shape[1] >= 4 for img, t, _ in words)
    # the mix: p_b = 0 never draws from b, 1 always does
    a, b = (lambda r: (None, "a", "latin")), (lambda r: (None, "b", "latin"))
    assert {mixed_source(a, b, 0.0)(rng)[1] for _ in range(20)} == {"a"}
    assert {mixed_source(a, b, 1.0)(rng)[1] for _ in range(20)} == {"b"}
    batch = next(iter(make_batches(RecognizerTrainConfig(batch_size=6, seed=3, bf16=False, page_p=1.0), charset)))
    assert batch["images"].shape[0] == 6 and batch["images"].shape[2] == 32
