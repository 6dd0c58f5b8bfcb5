"""The stage list the zoo assembles, end to end on rendered template instances, and the learned tagger's
encoding, decoding and a tiny training run."""
import copy

import numpy as np
import torch

from models.postocr.stages import default_stages
from models.postocr.tagger import (TAGS, TaggerConfig, TaggerNet, WordTagger, bio_targets, collate, decode_spans,
                                   encode_page)
from models.types import Entity
from tests.test_postocr_cluster import make_page


def _strip(gt):
    page = copy.deepcopy(gt)
    for w in page.words:
        w.line_id = w.block_id = w.label = None
    page.lines, page.blocks, page.entities, page.links, page.fields, page.meta = [], [], [], [], {}, {}
    page.template_id = None
    return page


def test_default_stages_identify_rendered_template_instances():
    from models.synth.templates import load_templates, render_template_instance
    rng = np.random.default_rng(7)
    stages = default_stages(use_tagger=False)
    assert len(stages) == 5
    for spec in load_templates().values():
        _img, gt = render_template_instance(spec, rng, dpi=100)
        page = _strip(gt)
        for st in stages:
            page = st(page)
        assert page.template_id == spec.id
        assert page.fields == gt.fields
        assert page.lines and page.blocks and page.meta["reading_order"]


def test_default_stages_with_pii_mask():
    page = make_page([("카드번호:", 60, 100), ("4111 1111 1111 1111", 300, 100)])
    for st in default_stages(use_tagger=False, pii_mask=True, salt="s3cret"):
        page = st(page)
    card = next(e for e in page.entities if e.label == "CARD")
    assert card.value.startswith("sha256:") and set(card.text) <= {"*", " "}
    assert "4111" not in " ".join(w.text for w in page.words)


def _run(stages, page, reader):
    for st in stages:
        page = st(page, reader=reader) if reader and getattr(st, "reads_regions", False) else st(page)
    return page


def test_lines_are_read_again_as_one_crop_and_pii_lines_keep_their_masked_words():
    """The line reader gives each line its whole-crop reading (a date's slashes the detector lost), and
    with PII masking a line holding masked words is rebuilt from them (the line crop shows the number)."""
    def words_page():
        return make_page([("Date 05 03 2024", 60, 100), ("카드번호:", 60, 200), ("4111 1111 1111 1111", 300, 200)])
    printed = {"Date 05 03 2024": "Date 05/03/2024", "카드번호:": "카드번호:",
               "4111 1111 1111 1111": "4111-1111-1111-1111"}
    seen = []

    def reader(quads):
        seen.append(len(quads))
        out = []
        for q in quads:
            x0, x1 = float(np.min(np.asarray(q)[:, 0])), float(np.max(np.asarray(q)[:, 0]))
            y = float(np.mean(np.asarray(q)[:, 1]))
            words = [w.text for w in page.words if x0 <= np.asarray(w.quad)[:, 0].mean() <= x1
                     and abs(np.asarray(w.quad)[:, 1].mean() - y) < 10]
            out.append((printed[" ".join(words)], 0.9))
        return out
    page = words_page()
    read = _run(default_stages(use_tagger=False), page, reader)
    assert sorted(ln.text for ln in read.lines) == ["4111-1111-1111-1111", "Date 05/03/2024", "카드번호:"]
    assert [w.text for w in read.words][:4] == ["Date", "05", "03", "2024"]          # words keep their own
    assert seen == [2]                    # one batch per page; the one-word line's crop was read already
    page = words_page()
    masked = _run(default_stages(use_tagger=False, pii_mask=True, salt="s3cret"), page, reader)
    assert "Date 05/03/2024" in [ln.text for ln in masked.lines]
    assert not any("4111" in ln.text for ln in masked.lines)
    plain = _run(default_stages(use_tagger=False, reread_lines=False), words_page(), reader)
    assert "Date 05 03 2024" in [ln.text for ln in plain.lines]


def _toy_page():
    page = make_page([("Call", 60, 100), ("010-1234-5678", 120, 100), ("or", 300, 100), ("write", 340, 100)])
    from models.postocr.cluster import Clusterer
    Clusterer()(page)
    page.entities = [Entity("PHONE", "010-1234-5678", [1])]
    return page


def test_bio_round_trip():
    page = _toy_page()
    order, feats = encode_page(page, TaggerConfig())
    tags = bio_targets(page, order)
    assert [TAGS[t] for t in tags] == ["O", "B-PHONE", "O", "O"]
    assert decode_spans(tags, order) == [("PHONE", [1])]
    assert len(feats) == 4 and all(f for f in feats)


def test_tiny_training_learns_a_toy_page():
    torch.manual_seed(0)
    cfg = TaggerConfig(buckets=1 << 10, dim=8, hidden=8)
    page = _toy_page()
    order, feats = encode_page(page, cfg)
    batch = collate([feats], [bio_targets(page, order)])
    net = TaggerNet(cfg)
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    first = None
    for _ in range(60):
        loss = net(batch)["ce"]
        first = first if first is not None else float(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < first / 5
    ents = WordTagger(net).entities(page)
    assert [(e.label, e.word_ids, e.value) for e in ents] == [("PHONE", [1], "01012345678")]


def test_shipped_tagger_on_a_rendered_page():
    import pytest
    from models.postocr.cluster import Clusterer
    from models.postocr.entities import EntityTagger
    from models.postocr.metrics import entity_prf
    from models.postocr.stages import load_tagger
    from models.synth.pages import render_page
    tagger = load_tagger()
    if tagger is None:
        pytest.skip("models/weights/ner_tagger.* not shipped")
    _img, gt = render_page(np.random.default_rng(31337), kind="invoice", lang="mixed", rotate=False, degrade=False)
    page = EntityTagger(tagger=tagger)(Clusterer()(_strip(gt)))
    assert entity_prf(page, gt)["ALL"].f1 > 0.8


def test_default_stages_fill_receipt_fields_on_unmatched_receipts():
    from tests.test_postocr_receipts import receipt
    page = receipt()
    for st in default_stages(use_tagger=False):
        page = st(page)
    assert page.template_id is None and page.meta["fields_source"] == "receipt_rules"
    assert set(page.fields) == {"company", "address", "date", "total"} and page.fields["total"] == "17.50"
