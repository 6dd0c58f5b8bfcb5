"""Target encoding <-> decoding round trips on hand-made boxes and toy pages (all four rotations)."""
import numpy as np
import pytest
import torch

from models.detection.decode import DecodeConfig, decode_maps, find_peaks, rotated_rect
from models.detection.targets import TargetConfig, encode
from models.detection.toy import render_toy_page, rotate_page
from models.eval.metrics import detection_prf
from models.geometry import box_to_quad, polygon_iou
from models.types import Char, Page, Word

STRIDE = 4


def _word(boxes, text="ab"):
    chars = [Char(t, box_to_quad(*b)) for t, b in zip(text, boxes)]
    pts = np.concatenate([c.quad for c in chars])
    return Word(quad=box_to_quad(pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()), chars=chars)


def _hand_page() -> Page:
    """Two words on one line: 'ab' (chars 12x20 px) and, a space away, 'c'."""
    w1 = _word([(20, 20, 32, 40), (36, 20, 48, 40)], "ab")
    w2 = _word([(72, 20, 84, 40)], "c")
    return Page(width=128, height=64, words=[w1, w2])


def perfect_logits(maps: dict, stride: int = STRIDE) -> dict:
    """Raw head outputs that reproduce the target maps exactly (what a perfect network would output)."""
    eps = 1e-4
    orient = torch.full((4,) + maps["orient"].shape, -8.0)
    for k in range(4):
        orient[k][torch.from_numpy(maps["orient"] == k)] = 8.0
    return {"center": torch.logit(torch.from_numpy(maps["center"]).clamp(eps, 1 - eps))[None],
            "box": torch.log(torch.from_numpy(maps["box"]).clamp(min=1e-3) / stride),
            "offset": torch.from_numpy(maps["offset"]),
            "orient": orient,
            "link": torch.logit(torch.from_numpy(maps["link"]).clamp(eps, 1 - eps))[None]}


def test_encode_hand_made_boxes_puts_peaks_boxes_and_links_where_expected():
    maps = encode(_hand_page(), (64, 128))
    assert maps["center"].shape == (16, 32) and maps["box"].shape == (4, 16, 32)
    # char 'a': centre (26, 30) -> cell (row 7, col 6); FCOS distances from that cell centre (26, 30)
    assert maps["center"][7, 6] == 1.0 and maps["box_mask"][7, 6] == 1.0
    np.testing.assert_allclose(maps["box"][:, 7, 6], [6, 10, 6, 10])
    np.testing.assert_allclose(maps["offset"][:, 7, 6], [0.0, 0.0])
    # the link joins a and b (cells between their centres) but not b and c (the space between the words)
    assert maps["link"][7, 6:11].all()
    assert not maps["link"][7, 13:17].any()
    assert (maps["orient"][maps["orient"] >= 0] == 0).all()


def test_encode_rejects_shapes_off_the_stride():
    with pytest.raises(ValueError):
        encode(_hand_page(), (63, 128))


def test_decode_of_encoded_hand_made_page_gives_back_the_boxes():
    page = _hand_page()
    out = decode_maps(perfect_logits(encode(page, (64, 128))), STRIDE, (128, 64))
    assert [len(w.chars) for w in out.words] == [2, 1]
    for got, want in zip(out.words, page.words):
        assert polygon_iou(got.quad, want.quad) > 0.99
        for gc, wc in zip(got.chars, want.chars):
            assert polygon_iou(gc.quad, wc.quad) > 0.99
    assert len(out.lines) == 1 and out.lines[0].word_ids == [0, 1]
    assert all(w.line_id == 0 for w in out.words)


def test_thin_characters_sharing_a_stride_4_cell_come_back_from_the_fine_maps():
    """'il' drawn 2 px wide, centres 2.3 px apart: both fall in one stride-4 cell, so the stride-4 maps hold
    one peak; with the fine stride-2 maps decoded (and the words still from the stride-4 links) both come
    back with `fine_chars="replace"`, and "off" goes back to the stride-4 characters."""
    page = Page(width=64, height=64, words=[_word([(20.5, 20, 22.5, 40), (22.8, 20, 24.8, 40)], "il")])
    coarse = perfect_logits(encode(page, (64, 64)))
    fine = perfect_logits(encode(page, (64, 64), TargetConfig(stride=2)), stride=2)
    maps = {**coarse, **{f"fine_{k}": fine[k] for k in ("center", "box", "offset")}}
    out = decode_maps(maps, STRIDE, (64, 64), DecodeConfig(fine_chars="replace"))
    assert len(out.words) == 1 and len(out.words[0].chars) == 2
    for got, want in zip(out.words[0].chars, page.words[0].chars):
        assert polygon_iou(got.quad, want.quad) > 0.9
    assert polygon_iou(out.words[0].quad, page.words[0].quad) > 0.9
    assert sum(len(w.chars) for w in decode_maps(coarse, STRIDE, (64, 64)).words) == 1
    no_fine = decode_maps(maps, STRIDE, (64, 64), DecodeConfig(fine_chars="off"))
    assert sum(len(w.chars) for w in no_fine.words) == 1
    with pytest.raises(ValueError, match="fine_chars"):
        decode_maps(maps, STRIDE, (64, 64), DecodeConfig(fine_chars="both"))


def test_refine_takes_each_characters_box_from_the_fine_maps_and_keeps_the_words():
    """`fine_chars="refine"`: the characters are the stride-4 peaks, each with the box regressed at the most
    central fine cell around its centre; words, lines and their quads stay as the stride-4 boxes make them."""
    page = _hand_page()
    coarse = perfect_logits(encode(page, (64, 128)))
    coarse["box"] = coarse["box"] + 0.3                      # every stride-4 box 35 % too far out on each side
    fine = perfect_logits(encode(page, (64, 128), TargetConfig(stride=2)), stride=2)
    maps = {**coarse, **{f"fine_{k}": fine[k] for k in ("center", "box", "offset")}}
    off = decode_maps(maps, STRIDE, (128, 64), DecodeConfig(fine_chars="off"))
    refined = decode_maps(maps, STRIDE, (128, 64), DecodeConfig(fine_chars="refine"))
    assert [len(w.chars) for w in refined.words] == [len(w.chars) for w in off.words] == [2, 1]
    for got, base, want in zip(refined.words, off.words, page.words):
        np.testing.assert_allclose(got.quad, base.quad)
        assert polygon_iou(got.quad, want.quad) < 0.9
        for gc, bc, wc in zip(got.chars, base.chars, want.chars):
            assert polygon_iou(gc.quad, wc.quad) > 0.99 and polygon_iou(bc.quad, wc.quad) < 0.9
    assert [ln.word_ids for ln in refined.lines] == [ln.word_ids for ln in off.lines]


@pytest.mark.parametrize("orientation", [0, 90, 180, 270])
def test_round_trip_on_rotated_toy_pages(orientation):
    image, page = render_toy_page(np.random.default_rng(3), 192, 160, orientation)
    h, w = image.shape[:2]
    out = decode_maps(perfect_logits(encode(page, (h, w))), STRIDE, (w, h))
    words = detection_prf([x.quad for x in out.words], [x.quad for x in page.words])
    chars = detection_prf([c.quad for x in out.words for c in x.chars], [c.quad for x in page.words for c in x.chars])
    assert words["hmean"] == 1.0 and chars["hmean"] == 1.0
    assert out.orientation == orientation
    assert all(x.orientation == orientation for x in out.words)
    assert len(out.lines) == len(page.lines)
    # quads start at the text's top-left: the first corner of each word is its GT's first corner
    for x in out.words:
        gt = max(page.words, key=lambda g: polygon_iou(g.quad, x.quad))
        assert np.abs(x.quad[0] - gt.quad[0]).max() < 1.0


def test_rotate_page_moves_gt_with_the_image():
    image, page = render_toy_page(np.random.default_rng(0), 96, 64)
    rot, rpage = rotate_page(image, page, 1)
    assert rot.shape[:2] == (96, 64) and (rpage.width, rpage.height) == (64, 96)
    x0, y0 = page.words[0].quad[0]
    np.testing.assert_allclose(rpage.words[0].quad[0], [64 - y0, x0], atol=1e-4)


def test_find_peaks_keeps_only_local_maxima_above_threshold():
    m = torch.zeros(8, 8)
    m[2, 2], m[2, 3], m[6, 6], m[0, 7] = 0.9, 0.5, 0.6, 0.2
    assert find_peaks(m, 0.3).tolist() == [[2, 2], [6, 6]]


def test_rotated_rect_orders_corners_in_reading_direction():
    pts = np.array([[10, 10], [30, 10], [30, 20], [10, 20]], np.float32)
    np.testing.assert_allclose(rotated_rect(pts, 0.0), pts, atol=1e-4)
    np.testing.assert_allclose(rotated_rect(pts, 180.0), pts[[2, 3, 0, 1]], atol=1e-4)


def test_decode_of_empty_maps_is_an_empty_page():
    maps = {"center": torch.full((1, 8, 8), -9.0), "box": torch.zeros(4, 8, 8), "offset": torch.zeros(2, 8, 8),
            "orient": torch.zeros(4, 8, 8), "link": torch.full((1, 8, 8), -9.0)}
    page = decode_maps(maps, STRIDE, (32, 32), DecodeConfig())
    assert page.words == [] and page.lines == [] and (page.width, page.height) == (32, 32)


def test_split_component_cuts_wide_gaps_and_separate_rows():
    from models.detection.decode import split_component

    boxes = np.array([[0, 0, 10, 20], [12, 0, 22, 20], [60, 0, 70, 20], [0, 40, 10, 60]], np.float32)
    centres = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], 1)
    parts = split_component(np.arange(4), boxes, centres, 0)
    assert sorted(sorted(p.tolist()) for p in parts) == [[0, 1], [2], [3]]


def test_upright_score_tells_upright_from_upside_down_text():
    from models.detection.decode import upright_score
    from models.geometry import quad_to_box

    image, page = render_toy_page(np.random.default_rng(5), 192, 160, 0)
    boxes = [np.array([quad_to_box(c.quad) for c in w.chars]) for w in page.words]
    assert upright_score(boxes, 0) > 0
    _, flipped = rotate_page(image, page, 2)
    boxes = [np.array([quad_to_box(c.quad) for c in w.chars]) for w in flipped.words]
    assert upright_score(boxes, 0) < 0 < upright_score(boxes, 180)


def _random_components(rng, n_comp=40):
    """Characters of random link components: rows of boxes with random gaps, some components of two rows,
    some read vertically (axis 1)."""
    boxes, comp, axis = [], [], []
    for k in range(n_comp):
        a = int(rng.random() < 0.3)
        rows = 1 + int(rng.random() < 0.3)
        x0, y0, h = rng.uniform(0, 800, 2).tolist() + [float(rng.uniform(8, 30))]
        for r in range(rows):
            x = x0
            for _ in range(int(rng.integers(1, 9))):
                w = h * rng.uniform(0.3, 1.0)
                b = [x, y0 + r * 2 * h + rng.normal(0, 0.05 * h), x + w, y0 + r * 2 * h + h]
                boxes.append([b[1], b[0], b[3], b[2]] if a else b)      # vertical text: swap the axes
                comp.append(k)
                axis.append(a)
                x += w + h * rng.choice([0.1, 0.3, 1.5, 3.0])
    boxes = np.asarray(boxes, np.float64)
    order = rng.permutation(len(boxes))
    boxes, comp, axis = boxes[order], np.asarray(comp)[order], np.asarray(axis)[order]
    centres = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], 1)
    return boxes, centres, comp, axis


def test_split_words_matches_split_component_on_every_component():
    from models.detection.decode import split_component, split_words

    rng = np.random.default_rng(3)
    for _ in range(5):
        boxes, centres, comp, axis = _random_components(rng)
        got = split_words(comp, axis, boxes, centres)
        want = [p for k in np.unique(comp)
                for p in split_component(np.flatnonzero(comp == k), boxes, centres, 90 * int(axis[comp == k][0]))]
        assert sorted(sorted(p.tolist()) for p in got) == sorted(sorted(p.tolist()) for p in want)
        assert sum(len(p) for p in got) == len(boxes)
        assert any(len(p) > 1 for p in got) and len(got) > len(np.unique(comp))


def test_group_angles_follow_the_line_through_the_centres():
    from models.detection.decode import _group_angles

    rng = np.random.default_rng(4)
    tilts = [0.0, 5.0, -8.0, 30.0, 3.0]                        # 30: beyond MAX_SKEW, stays at the base
    spans = [200.0, 200.0, 200.0, 200.0, 20.0]                 # 20: under MIN_SPAN heights, stays at the base
    bases = [0, 0, 180, 0, 90]
    pts, keys = [], []
    for g, (tilt, span, base) in enumerate(zip(tilts, spans, bases)):
        t = np.radians(base + tilt)
        s = np.linspace(0, span, 7)
        pts.append(np.stack([100 + s * np.cos(t), 50 + s * np.sin(t)], 1) + rng.normal(0, 0.2, (7, 2)))
        keys += [g] * 7
    angles = _group_angles(np.concatenate(pts), np.asarray(keys), np.asarray(bases, float), np.full(5, 10.0))
    np.testing.assert_allclose(angles, [0.0, 5.0, 172.0, 0.0, 90.0], atol=0.3)



def test_transform_page_maps_every_quad_and_keeps_the_rest():
    from models.detection.data import transform_page

    image, page = render_toy_page(np.random.default_rng(6), 192, 160, 90)
    page.words[0].text, page.words[0].line_id = "abc", 7
    before = [w.quad.copy() for w in page.words]
    out = transform_page(page, (2.0, 0.5), dx=3.0, dy=-4.0, size=(384, 80))
    assert (out.width, out.height, out.orientation) == (384, 80, page.orientation)
    f = lambda q: q * np.array([2.0, 0.5], np.float32) + np.array([3.0, -4.0], np.float32)  # noqa: E731
    for w, src, q0 in zip(out.words, page.words, before):
        np.testing.assert_allclose(w.quad, f(q0), rtol=1e-6)
        assert (w.text, w.line_id, w.orientation, w.conf) == (src.text, src.line_id, src.orientation, src.conf)
        assert [c.text for c in w.chars] == [c.text for c in src.chars]
        for c, sc in zip(w.chars, src.chars):
            np.testing.assert_allclose(c.quad, f(sc.quad), rtol=1e-6)
    for ln, src in zip(out.lines, page.lines):
        np.testing.assert_allclose(ln.quad, f(src.quad), rtol=1e-6)
        assert ln.word_ids == src.word_ids
    np.testing.assert_array_equal(page.words[0].quad, before[0])           # the input page is not touched
    assert transform_page(Page(width=10, height=10), 2.0).words == []


def test_group_lines_in_small_blocks_gives_the_same_lines(monkeypatch):
    import models.detection.decode as decode

    image, page = render_toy_page(np.random.default_rng(8), 256, 256, 0)
    h, w = image.shape[:2]
    whole = decode_maps(perfect_logits(encode(page, (h, w))), STRIDE, (w, h))
    monkeypatch.setattr(decode, "LINE_BLOCK", 3)
    blocks = decode_maps(perfect_logits(encode(page, (h, w))), STRIDE, (w, h))
    assert len(whole.lines) > 1 and len(whole.words) > 3
    assert [ln.word_ids for ln in blocks.lines] == [ln.word_ids for ln in whole.lines]
    for a, b in zip(blocks.words, whole.words):
        np.testing.assert_array_equal(a.quad, b.quad)
