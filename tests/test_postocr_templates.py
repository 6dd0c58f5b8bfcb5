"""Template matching under scale / shift / rotation / skew / 90-degree turns, a non-template page, a
scrambled page with the right words in the wrong places, malformed specs, and the registry CLI."""
import json

import numpy as np
import pytest

from models.geometry import box_to_quad, transform_quads
from models.postocr.cluster import Clusterer
from models.postocr.templates import MatchConfig, TemplateMatcher, TemplateRegistry, match_template
from models.synth.templates import TemplateSpec
from models.types import Page, Word

SPEC = {
    "id": "test_invoice", "version": 1, "lang": "en", "page": {"width_mm": 200, "height_mm": 280},
    "anchors": [{"text": "INVOICE", "box": [80, 10, 120, 20]}, {"text": "Customer", "box": [10, 40, 40, 46]},
                {"text": "Date", "box": [10, 50, 40, 56]}, {"text": "Amount due", "box": [10, 60, 40, 66]},
                {"text": "Signature", "box": [120, 250, 160, 256]}, {"text": "Thank you", "box": [80, 265, 120, 271]}],
    "fields": [{"name": "customer", "box": [45, 40, 150, 46], "format": "person", "entity": "PERSON", "anchor": "Customer"},
               {"name": "date", "box": [45, 50, 100, 56], "format": "date", "entity": "DATE", "anchor": "Date"},
               {"name": "amount", "box": [45, 60, 100, 66], "format": "money", "entity": "MONEY", "anchor": "Amount due"}],
}
VALUES = {"customer": "Jane Q. Doe", "date": "2024. 3. 5.", "amount": "₩12,000"}


def layout(items, mm_to_px: np.ndarray, size=(1700, 2400)) -> Page:
    """Words of (text, box in mm) phrases, left-aligned in their boxes, mapped by a 3x3 mm -> px matrix."""
    words = []
    for text, (x0, y0, x1, y1) in items:
        h = (y1 - y0) * 0.6
        x, y = x0 + 0.5, (y0 + y1) / 2 - h / 2
        for tok in text.split():
            w = 2.0 * len(tok)
            q = transform_quads(box_to_quad(x, y, x + w, y + h), mm_to_px)
            words.append(Word(quad=q, text=tok))
            x += w + 1.5
    return Page(width=size[0], height=size[1], words=words)


def instance(mm_to_px, spec=SPEC, values=VALUES) -> Page:
    items = [(a["text"], a["box"]) for a in spec["anchors"]] + [(values[f["name"]], f["box"]) for f in spec["fields"]]
    return Clusterer()(layout(items, mm_to_px))


def similarity(scale=8.0, angle_deg=0.0, shift=(100, 80), shear=0.0):
    t = np.radians(angle_deg)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    a = rot @ np.array([[1.0, shear], [0.0, 1.0]]) * scale
    return np.array([[a[0, 0], a[0, 1], shift[0]], [a[1, 0], a[1, 1], shift[1]], [0, 0, 1]])


@pytest.fixture
def matcher():
    return TemplateMatcher({SPEC["id"]: TemplateSpec.from_dict(SPEC)})


@pytest.mark.parametrize("m", [
    similarity(), similarity(scale=4.0, shift=(10, 300)), similarity(scale=11.0, angle_deg=7.0, shift=(400, 0)),
    similarity(angle_deg=-3.0, shear=0.05), similarity(angle_deg=90.0, shift=(2300, 40)),
    similarity(angle_deg=180.0, shift=(1700, 2300)),
    np.array([[8.0, 0.3, 50], [0.2, 8.2, 60], [2e-5, 1e-5, 1.0]]),          # mild perspective
], ids=["plain", "small-shifted", "big-rotated", "skewed", "rot90", "rot180", "perspective"])
def test_matches_and_reads_fields_under_transforms(matcher, m):
    page = matcher(instance(m))
    assert page.template_id == "test_invoice"
    assert page.fields == VALUES
    typed = page.meta["field_values"]
    assert typed["date"]["value"] == "2024-03-05" and typed["date"]["valid"] is True
    assert typed["amount"]["value"] == "12000 KRW"
    assert {e.label for e in page.entities} >= {"PERSON", "DATE", "MONEY"}


def test_one_missing_anchor_and_an_ocr_typo_still_match(matcher):
    spec = json.loads(json.dumps(SPEC))
    spec["anchors"] = spec["anchors"][1:]                # the title is not on the page
    page = instance(similarity(), spec)
    page.words[0].text = "Custorner"                     # rn for m
    assert matcher(page).template_id == "test_invoice"


def test_non_template_page_is_not_matched(matcher):
    items = [("Quarterly report", (20, 10, 120, 20)), ("Revenue grew in all regions", (20, 40, 150, 46)),
             ("Date", (20, 60, 40, 66)), ("2024. 3. 5.", (45, 60, 90, 66))]
    page = matcher(Clusterer()(layout(items, similarity())))
    assert page.template_id is None and page.fields == {}


def test_right_words_in_wrong_places_are_not_a_match(matcher):
    rng = np.random.default_rng(0)
    items = [(a["text"], [float(v) for v in rng.uniform(0, 180, 2)] + [0, 0]) for a in SPEC["anchors"]]
    items = [(t, (x, y, x + 30, y + 6)) for t, (x, y, _, _) in items]
    page = matcher(Clusterer()(layout(items, similarity())))
    assert page.template_id is None


def test_match_reports_inlier_anchors():
    spec = TemplateSpec.from_dict(SPEC)
    m = match_template(instance(similarity(angle_deg=2.0)), spec, MatchConfig())
    assert m is not None and m.share == 1.0 and m.rms_mm < 1.0
    assert set(m.inliers) == {a["text"] for a in SPEC["anchors"]}


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.pop("fields"), "lacks 'fields'"),
    (lambda d: d["anchors"][0].update(box=[10, 10, 5, 20]), "x1 > x0"),
    (lambda d: d["fields"][0].update(entity="SHOE_SIZE"), "unknown entity"),
    (lambda d: d["fields"][1].update(anchor="Nope"), "is not the id or text of any anchor"),
    (lambda d: d.update(version=0), "version"),
    (lambda d: d["fields"][0].update(box=[45, 40, 250, 46]), "outside"),
])
def test_malformed_spec_is_rejected_with_a_clear_message(mutate, message):
    d = json.loads(json.dumps(SPEC))
    mutate(d)
    with pytest.raises(ValueError, match=message):
        TemplateSpec.from_dict(d)


def test_registry_add_and_list(tmp_path, capsys):
    from jobs.templates_cli import add_arguments, run
    import argparse

    def cli(*argv):
        p = argparse.ArgumentParser()
        add_arguments(p)
        return run(p.parse_args(list(argv)))

    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(SPEC), encoding="utf-8")
    broken = json.loads(json.dumps(SPEC))
    broken["fields"][0]["format"] = "shoe"
    bad.write_text(json.dumps(broken), encoding="utf-8")
    reg = tmp_path / "registry"
    assert cli("add", str(good), "--registry", str(reg)) == 0
    assert (reg / "test_invoice.json").exists()
    assert cli("add", str(bad), "--registry", str(reg)) == 2
    assert "unknown format 'shoe'" in capsys.readouterr().err
    assert cli("add", str(good), "--registry", str(reg)) == 2           # duplicate id
    assert cli("list", "--registry", str(reg)) == 0
    out = capsys.readouterr().out
    assert "test_invoice" in out and "user" in out and "shipped" in out
    assert "test_invoice" in TemplateRegistry(reg).specs


def test_field_pieces_the_detector_split_are_joined_but_spaces_stay():
    from models.postocr.templates import join_words

    def w(text, x0, x1, line=0, y0=10.0, h=20.0):
        return Word(quad=box_to_quad(x0, y0, x1, y0 + h), text=text, line_id=line)
    # "08" ".01" "25" 1 px apart (a split token), then a real space (8 px = 0.4 heights), then a new line
    page = Page(width=400, height=100, words=[w("08", 0, 30), w(".01", 31, 70), w("25", 71, 100),
                                              w("Seoul", 108, 180), w("Korea", 0, 80, line=1, y0=40)])
    assert join_words(page, [0, 1, 2, 3, 4], 0.12) == "08.0125 Seoul Korea"
    assert join_words(page, [0, 1, 2, 3, 4], 0.0) == "08 .01 25 Seoul Korea"
    rotated = Page(width=100, height=400, words=[
        Word(quad=np.array([[50, 0], [50, 30], [30, 30], [30, 0]], np.float32), text="12", line_id=0,
             orientation=90),
        Word(quad=np.array([[50, 31], [50, 60], [30, 60], [30, 31]], np.float32), text="34", line_id=0,
             orientation=90)])
    assert join_words(rotated, [0, 1], 0.12) == "1234"          # along the reading direction, not x


def _inside(quad, page: Page) -> list[int]:
    import cv2
    poly = np.asarray(quad, np.float32).reshape(-1, 1, 2)
    return [i for i, w in enumerate(page.words)
            if cv2.pointPolygonTest(poly, tuple(float(v) for v in np.asarray(w.quad).mean(axis=0)), False) >= 0]


def _split(page: Page, text: str, left: str, right: str) -> list[int]:
    """Cut the word `text` in two words (the detector lost a character between them); their ids."""
    i = next(k for k, w in enumerate(page.words) if w.text == text)
    q = np.asarray(page.words[i].quad, np.float32)
    mid_top, mid_bot = (q[0] + q[1]) / 2, (q[3] + q[2]) / 2
    a = Word(quad=np.stack([q[0], mid_top - (q[1] - q[0]) * 0.05, mid_bot - (q[2] - q[3]) * 0.05, q[3]]), text=left,
             line_id=page.words[i].line_id)
    b = Word(quad=np.stack([mid_top, q[1], q[2], mid_bot]), text=right, line_id=page.words[i].line_id)
    page.words[i:i + 1] = [a, b]
    return [i, i + 1]


def test_fields_are_read_again_as_one_crop_per_line():
    import copy
    page = Clusterer()(instance(similarity()))
    truth = {}
    ids = _split(page, "₩12,000", "₩12", "000")                # the comma between them was lost
    truth[tuple(ids)] = "₩12,000"
    page = Clusterer()(page)
    calls = []

    def reader(quads):                                       # reads what is really printed under each quad
        calls.append(len(quads))
        out = []
        for q in quads:
            inside = _inside(q, page)
            out.append((truth.get(tuple(inside), " ".join(page.words[i].text for i in inside)), 0.9))
        return out
    matcher = TemplateMatcher({SPEC["id"]: TemplateSpec.from_dict(SPEC)}, MatchConfig(reread_pads=()))
    assert matcher(copy.deepcopy(page)).fields["amount"] == "₩12 000"               # word by word
    read = matcher(page, reader=reader)
    assert read.fields == VALUES and calls == [3]            # one crop per field line, one call per page
    assert read.meta["field_values"]["amount"] == {"entity": "MONEY", "value": "12000 KRW", "valid": True}


def test_a_typed_field_keeps_its_word_reading_when_only_that_one_is_valid_and_masked_fields_are_not_read():
    import copy
    page = Clusterer()(instance(similarity()))

    def bad_date(quads):
        return [("2O24. 3. 5." if "2024." in " ".join(page.words[i].text for i in _inside(q, page)) else
                 " ".join(page.words[i].text for i in _inside(q, page)), 0.9) for q in quads]
    matcher = TemplateMatcher({SPEC["id"]: TemplateSpec.from_dict(SPEC)}, MatchConfig(reread_pads=()))
    assert matcher(copy.deepcopy(page), reader=bad_date).fields["date"] == "2024. 3. 5."
    always = TemplateMatcher({SPEC["id"]: TemplateSpec.from_dict(SPEC)}, MatchConfig(reread="always",
                                                                                  reread_pads=()))
    assert always(copy.deepcopy(page), reader=bad_date).fields["date"] == "2O24. 3. 5."
    masked = copy.deepcopy(page)
    masked.meta["pii_masked_words"] = [i for i, w in enumerate(masked.words) if w.text in ("Jane", "Q.", "Doe")]
    seen = []
    matcher(masked, reader=lambda quads: seen.extend(quads) or bad_date(quads))
    assert len(seen) == 1          # the date's line; not the masked customer, nor the one-word amount
    with pytest.raises(ValueError, match="reread"):
        TemplateMatcher({SPEC["id"]: TemplateSpec.from_dict(SPEC)}, MatchConfig(reread="maybe"))(
            copy.deepcopy(page), reader=bad_date)


def test_field_lines_read_with_several_margins_vote():
    """Each field line is read once per margin; the readings that agree add their confidences up, and a
    typed field takes a valid value first."""
    import copy
    page = Clusterer()(instance(similarity()))
    pads = []

    def reader(quads, pad=0.12):
        pads.append(pad)
        out = []
        for q in quads:
            text = " ".join(page.words[i].text for i in _inside(q, page))
            if text == "Jane Q. Doe" and pad in (0.12, 0.2):
                text, conf = "Jane Q. Dce", 0.6       # one wrong reading, however confident, loses to two
            elif text == "2024. 3. 5." and pad != 0.3:
                text, conf = "2024. 3. 55.", 0.9      # invalid dates: the one valid reading wins
            else:
                conf = 0.5
            out.append((text, conf))
        return out
    matcher = TemplateMatcher({SPEC["id"]: TemplateSpec.from_dict(SPEC)}, MatchConfig(reread_pads=(0.05, 0.2, 0.3)))
    read = matcher(copy.deepcopy(page), reader=reader)
    assert pads == [0.12, 0.05, 0.2, 0.3]      # the recognizer's own margin, then each extra one, once
    assert read.fields["customer"] == "Jane Q. Dce"          # 0.6 + 0.6 against 0.5 + 0.5
    assert read.fields["date"] == "2024. 3. 5."
    pads.clear()
    read = TemplateMatcher({SPEC["id"]: TemplateSpec.from_dict(SPEC)}, MatchConfig(reread_pads=(0.05, 0.3, 0.4)))(
        copy.deepcopy(page), reader=reader)
    assert read.fields["customer"] == "Jane Q. Doe"          # 0.5 x 3 against 0.6


def test_rule_marks_at_the_ends_of_a_field_line_are_dropped():
    values = dict(VALUES, customer=": Jane Q. Doe |")          # a label's colon and the box's ruling
    page = TemplateMatcher({SPEC["id"]: TemplateSpec.from_dict(SPEC)})(instance(similarity(), values=values))
    assert page.fields["customer"] == "Jane Q. Doe"


def test_anchors_down_one_margin_do_not_squash_the_other_axis():
    """Labels down the left margin and one anchor elsewhere, each a little off (OCR'd positions): a
    homography fitted to them is nearly degenerate; the match falls back to a well-conditioned model."""
    spec = {"id": "margin_form", "version": 1, "lang": "en", "page": {"width_mm": 200, "height_mm": 280},
            "anchors": [{"text": f"Label{k}", "box": [10, 30 + 14 * k, 40, 36 + 14 * k]} for k in range(9)] +
                       [{"text": "Date", "box": [120, 170, 140, 176]}],
            "fields": [{"name": f"value{k}", "box": [45, 30 + 14 * k, 110, 36 + 14 * k], "format": "text"}
                       for k in range(9)]}
    values = {f"value{k}": f"v{k}" for k in range(9)}
    rng = np.random.default_rng(3)
    items = [(a["text"], a["box"]) for a in spec["anchors"]] + [(values[f["name"]], f["box"]) for f in spec["fields"]]
    page = layout(items, similarity())
    for w in page.words:                                     # +-2 px of detector jitter
        w.quad = np.asarray(w.quad, np.float32) + rng.normal(0, 2.0, 2).astype(np.float32)
    page = TemplateMatcher({"margin_form": TemplateSpec.from_dict(spec)})(Clusterer()(page))
    assert page.template_id == "margin_form" and page.fields == values


def test_a_typed_field_drops_a_short_stray_token_only_when_that_makes_it_valid():
    values = dict(VALUES, amount="₩12,000 e", customer="Jane Q. Doe e")       # a ruling read as "e"
    page = TemplateMatcher({SPEC["id"]: TemplateSpec.from_dict(SPEC)})(instance(similarity(), values=values))
    assert page.fields["amount"] == "₩12,000" and page.meta["field_values"]["amount"]["valid"] is True
    assert page.fields["customer"] == "Jane Q. Doe e"                          # untyped: as read
    values = dict(VALUES, amount="₩12,000 zz9")                                 # not short: kept, invalid
    page = TemplateMatcher({SPEC["id"]: TemplateSpec.from_dict(SPEC)})(instance(similarity(), values=values))
    assert page.fields["amount"] == "₩12,000 zz9" and page.meta["field_values"]["amount"]["valid"] is False


def test_a_won_amount_read_with_a_dot_between_groups_gets_its_comma_back():
    values = dict(VALUES, amount="₩12.000")                  # the comma read as a dot: 12 won, not 12,000
    page = TemplateMatcher({SPEC["id"]: TemplateSpec.from_dict(SPEC)})(instance(similarity(), values=values))
    assert page.fields["amount"] == "₩12,000"
    assert page.meta["field_values"]["amount"]["value"] == "12000 KRW"
    values = dict(VALUES, customer="Jane 12.000")             # not a MONEY field: as read
    page = TemplateMatcher({SPEC["id"]: TemplateSpec.from_dict(SPEC)})(instance(similarity(), values=values))
    assert page.fields["customer"] == "Jane 12.000"
