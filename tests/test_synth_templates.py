"""Template specs: validation, the shipped specs, rendered instances."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from models.postocr.ids import valid_brn
from models.synth.templates import TemplateSpec, load_template, load_templates, render_template_instance

GOOD = {
    "id": "tiny", "version": 1, "lang": "en", "page": {"width_mm": 100, "height_mm": 60},
    "anchors": [{"text": "Name", "box": [5, 5, 25, 12]}, {"text": "Total", "box": [5, 20, 25, 27], "id": "t"}],
    "fields": [{"name": "name", "box": [27, 5, 95, 12], "format": "person", "entity": "PERSON", "anchor": "Name"},
               {"name": "total", "box": [27, 20, 95, 27], "format": "money", "entity": "MONEY", "anchor": "t"}],
    "rules": [[5, 14, 95, 14]], "boxes": [[3, 3, 97, 30]],
}


def _bad(**changes):
    d = copy.deepcopy(GOOD)
    for path, value in changes.items():
        target, keys = d, path.split(".")
        for k in keys[:-1]:
            target = target[int(k)] if isinstance(target, list) else target[k]
        last = keys[-1]
        if value is KeyError:
            del target[last]
        elif isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    return d


def test_good_spec_round_trips():
    spec = TemplateSpec.from_dict(GOOD)
    assert spec.id == "tiny" and len(spec.fields) == 2 and spec.anchors[1].key == "t"
    assert TemplateSpec.from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize("changes, message", [
    ({"id": KeyError}, "lacks 'id'"),
    ({"version": 0}, "version"),
    ({"page": {"width_mm": "wide"}}, "page"),
    ({"fields.0.box": [50, 5, 40, 12]}, "x1 > x0"),
    ({"fields.0.box": [27, 5, 120, 12]}, "outside"),
    ({"fields.0.entity": "SHOE_SIZE"}, "unknown entity"),
    ({"fields.0.format": "poem"}, "unknown format"),
    ({"fields.1.name": "name"}, "duplicate field"),
    ({"fields.0.anchor": "Surname"}, "not the id or text"),
    ({"anchors.1.id": "Name"}, "duplicate anchor"),
    ({"anchors.0.text": ""}, "non-empty"),
    ({"fields": []}, "at least one field"),
    ({"lang": "fr"}, "lang"),
])
def test_malformed_specs_raise_clear_value_errors(changes, message):
    with pytest.raises(ValueError, match=message):
        TemplateSpec.from_dict(_bad(**changes))


def test_load_template_rejects_bad_json(tmp_path):
    p = tmp_path / "x.json"
    p.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_template(p)


def test_shipped_specs_load():
    specs = load_templates()
    assert {"kr_transaction_statement", "kr_receipt", "en_application_form"} <= set(specs)


@pytest.mark.parametrize("tid", ["kr_transaction_statement", "kr_receipt", "en_application_form"])
def test_instances_carry_template_id_fields_entities_and_links(tid):
    spec = load_templates()[tid]
    img, page = render_template_instance(spec, np.random.default_rng(4), dpi=100)
    assert img.shape[:2] == (page.height, page.width)
    assert page.template_id == tid and page.meta["template_version"] == spec.version
    assert set(page.fields) == {f.name for f in spec.fields}
    texts = [w.text for w in page.words]
    for name, value in page.fields.items():
        assert value and all(t in texts for t in value.split()), name
    linked = [f for f in spec.fields if f.anchor]
    assert len(page.links) == len(linked)
    for e in page.entities:
        if e.label == "BRN":
            assert e.valid and valid_brn(e.text)
    anchors = {w.text for w in page.words if w.label == "question"}
    assert anchors and all(a.text.split()[0] in anchors for a in spec.anchors)


def test_instances_are_deterministic_and_differ_by_seed():
    spec = TemplateSpec.from_dict(GOOD)
    a_img, a = render_template_instance(spec, np.random.default_rng(1), dpi=100)
    b_img, b = render_template_instance(spec, np.random.default_rng(1), dpi=100)
    _, c = render_template_instance(spec, np.random.default_rng(2), dpi=100)
    assert np.array_equal(a_img, b_img) and a.fields == b.fields
    assert c.fields != a.fields
