"""Registered document templates: a spec is data (JSON), rendered with random field values.

A spec names a page size and lists, all in millimetres from the page's top-left corner:
    anchors  fixed printed text (titles, labels) - what template matching keys on;
    fields   boxes that receive a value, each with a `format` (the value generator), an optional entity
             label (models.types.ENTITY_TYPES) and an optional `anchor` (the id - or, without ids, the
             text - of the anchor that labels it: rendered instances link that anchor's words -> the value's
             words);
    rules    straight lines [x0, y0, x1, y1] and `boxes` rectangles [x0, y0, x1, y1] (printed graphics).

JSON shape (see models/templates/*.json):
    {"id": "kr_transaction_statement", "version": 1, "lang": "ko",
     "page": {"width_mm": 210, "height_mm": 297},
     "anchors": [{"text": "거래명세서", "box": [70, 15, 140, 27]}],
     "fields": [{"name": "supplier_brn", "box": [40, 40, 100, 47], "entity": "BRN", "format": "brn",
                 "anchor": "등록번호"}],
     "rules": [[15, 35, 195, 35]], "boxes": [[15, 38, 104, 80]]}
`TemplateSpec.from_dict` validates and raises ValueError naming the offending entry.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.gtio import read_json
from models.synth.content import Content, EntityText
from models.synth.fonts import FontSet, load_fonts
from models.synth.render import PageCanvas, Span, Style
from models.types import ENTITY_TYPES, Page

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates"

# format name -> generator(content, lang) -> EntityText | str
FIELD_FORMATS: dict[str, object] = {
    "person": lambda c, lang: c.person(lang),
    "org": lambda c, lang: c.org(lang),
    "address": lambda c, lang: c.address(lang),
    "phone": lambda c, lang: c.phone(lang),
    "email": lambda c, lang: c.email(lang),
    "url": lambda c, lang: c.url(lang),
    "date": lambda c, lang: c.date(lang),
    "time": lambda c, lang: c.time(lang),
    "money": lambda c, lang: c.money(lang),
    "rrn": lambda c, lang: c.rrn(),
    "brn": lambda c, lang: c.brn(),
    "card": lambda c, lang: c.card(),
    "account": lambda c, lang: c.account(),
    "number": lambda c, lang: c.digits(int(c.rng.integers(4, 10))),
    "integer": lambda c, lang: str(int(c.rng.integers(1, 100))),
    "word": lambda c, lang: c.word(lang),
    "text": lambda c, lang: " ".join(c.word(lang) for _ in range(int(c.rng.integers(1, 4)))),
}


def _box(value, where: str) -> tuple[float, float, float, float]:
    try:
        x0, y0, x1, y1 = (float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: a box is [x0, y0, x1, y1] in mm, got {value!r}") from exc
    if not (x1 > x0 and y1 > y0):
        raise ValueError(f"{where}: box {value!r} needs x1 > x0 and y1 > y0")
    return x0, y0, x1, y1


@dataclass(frozen=True)
class Anchor:
    text: str
    box: tuple[float, float, float, float]     # mm
    bold: bool = False
    id: str = ""                               # fields refer to an anchor by id (default: its text)

    @property
    def key(self) -> str:
        return self.id or self.text


@dataclass(frozen=True)
class FieldSpec:
    name: str
    box: tuple[float, float, float, float]     # mm
    format: str = "text"
    entity: str | None = None
    anchor: str | None = None                  # text of the anchor that labels this field
    align: str = "left"


@dataclass(frozen=True)
class TemplateSpec:
    id: str
    version: int
    width_mm: float
    height_mm: float
    anchors: tuple[Anchor, ...]
    fields: tuple[FieldSpec, ...]
    rules: tuple[tuple[float, float, float, float], ...] = ()
    boxes: tuple[tuple[float, float, float, float], ...] = ()
    lang: str = "ko"
    name: str = ""

    @classmethod
    def from_dict(cls, d: dict) -> "TemplateSpec":
        """Validate and build a spec; ValueError says which entry is wrong."""
        if not isinstance(d, dict):
            raise ValueError(f"a template spec is a JSON object, got {type(d).__name__}")
        for key in ("id", "version", "page", "anchors", "fields"):
            if key not in d:
                raise ValueError(f"template spec lacks {key!r}")
        tid = d["id"]
        if not isinstance(tid, str) or not tid.strip():
            raise ValueError(f"template id must be a non-empty string, got {tid!r}")
        if not isinstance(d["version"], int) or isinstance(d["version"], bool) or d["version"] < 1:
            raise ValueError(f"{tid}: version must be an integer >= 1, got {d['version']!r}")
        page = d["page"]
        try:
            w, h = float(page["width_mm"]), float(page["height_mm"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{tid}: page needs numeric width_mm and height_mm: {exc}") from exc
        if not (20 <= w <= 1000 and 20 <= h <= 1000):
            raise ValueError(f"{tid}: page size {w}x{h} mm is outside 20..1000 mm")
        lang = d.get("lang", "ko")
        if lang not in ("ko", "en", "mixed"):
            raise ValueError(f"{tid}: lang must be ko, en or mixed, got {lang!r}")

        def inside(box, where):
            if box[0] < 0 or box[1] < 0 or box[2] > w or box[3] > h:
                raise ValueError(f"{where}: box {list(box)} lies outside the {w}x{h} mm page")
            return box

        anchors = []
        for i, a in enumerate(d["anchors"]):
            where = f"{tid}: anchors[{i}]"
            if not isinstance(a, dict) or not isinstance(a.get("text"), str) or not a["text"].strip():
                raise ValueError(f"{where}: an anchor needs a non-empty 'text'")
            anchors.append(Anchor(a["text"], inside(_box(a.get("box"), where), where), bool(a.get("bold", False)),
                                  str(a.get("id", ""))))
            if anchors[-1].key in {x.key for x in anchors[:-1]}:
                raise ValueError(f"{where}: duplicate anchor id {anchors[-1].key!r} (give repeated texts an 'id')")
        names, anchor_texts = set(), {a.key for a in anchors}
        fields = []
        for i, f in enumerate(d["fields"]):
            where = f"{tid}: fields[{i}]"
            if not isinstance(f, dict) or not isinstance(f.get("name"), str) or not f["name"]:
                raise ValueError(f"{where}: a field needs a 'name'")
            if f["name"] in names:
                raise ValueError(f"{where}: duplicate field name {f['name']!r}")
            names.add(f["name"])
            fmt = f.get("format", "text")
            if fmt not in FIELD_FORMATS:
                raise ValueError(f"{where}: unknown format {fmt!r}; choose from {sorted(FIELD_FORMATS)}")
            ent = f.get("entity")
            if ent is not None and ent not in ENTITY_TYPES:
                raise ValueError(f"{where}: unknown entity {ent!r}; choose from {ENTITY_TYPES}")
            anc = f.get("anchor")
            if anc is not None and anc not in anchor_texts:
                raise ValueError(f"{where}: anchor {anc!r} is not the id or text of any anchor")
            align = f.get("align", "left")
            if align not in ("left", "right", "center"):
                raise ValueError(f"{where}: align must be left, right or center, got {align!r}")
            fields.append(FieldSpec(f["name"], inside(_box(f.get("box"), where), where), fmt, ent, anc, align))
        if not fields:
            raise ValueError(f"{tid}: a template needs at least one field")
        rules = tuple(_box_or_line(r, f"{tid}: rules[{i}]") for i, r in enumerate(d.get("rules", [])))
        boxes = tuple(inside(_box(b, f"{tid}: boxes[{i}]"), f"{tid}: boxes[{i}]") for i, b in enumerate(d.get("boxes", [])))
        return cls(tid, d["version"], w, h, tuple(anchors), tuple(fields), rules, boxes, lang, str(d.get("name", "")))

    def to_dict(self) -> dict:
        return {"id": self.id, "version": self.version, "name": self.name, "lang": self.lang,
                "page": {"width_mm": self.width_mm, "height_mm": self.height_mm},
                "anchors": [{"text": a.text, "box": list(a.box), "bold": a.bold, **({"id": a.id} if a.id else {})}
                            for a in self.anchors],
                "fields": [{"name": f.name, "box": list(f.box), "format": f.format, "entity": f.entity,
                            "anchor": f.anchor, "align": f.align} for f in self.fields],
                "rules": [list(r) for r in self.rules], "boxes": [list(b) for b in self.boxes]}


def _box_or_line(value, where: str) -> tuple[float, float, float, float]:
    try:
        x0, y0, x1, y1 = (float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: a rule is [x0, y0, x1, y1] in mm, got {value!r}") from exc
    return x0, y0, x1, y1


def load_template(path: str | Path) -> TemplateSpec:
    return TemplateSpec.from_dict(read_json(path))


def load_templates(directory: str | Path = TEMPLATE_DIR) -> dict[str, TemplateSpec]:
    """All specs of a folder by id (sorted by file name)."""
    specs = {}
    for p in sorted(Path(directory).glob("*.json")):
        spec = load_template(p)
        if spec.id in specs:
            raise ValueError(f"{p}: duplicate template id {spec.id!r}")
        specs[spec.id] = spec
    return specs


def render_template_instance(spec: TemplateSpec, rng: np.random.Generator, *, dpi: int | None = None,
                             rotate: bool = True, degrade: bool = True,
                             fonts: FontSet | None = None) -> tuple[np.ndarray, Page]:
    """Render the template with random field values: (RGB image, Page) with `page.template_id = spec.id`,
    `page.fields` {name: value text}, entities on fields, links anchor -> field value, and the whole print
    shifted by up to 2 mm (misregistration). Graphics and anchors are drawn in spec order; words are listed
    anchors first then fields, each in spec order (the spec's reading order)."""
    from models.synth.pages import DPI_RANGE, finish_page

    fonts = fonts or load_fonts("train")
    dpi = int(rng.integers(DPI_RANGE[0], DPI_RANGE[1] + 1)) if dpi is None else int(dpi)
    scale = dpi / 25.4
    canvas = PageCanvas(int(round(spec.width_mm * scale)), int(round(spec.height_mm * scale)))
    canvas.fallback = fonts
    pool = fonts.for_script("hangul" if spec.lang in ("ko", "mixed") else "latin")
    regular = [f for f in pool if not f.bold] or list(pool)
    font = regular[int(rng.integers(len(regular)))]
    bold = next((f for f in pool if f.family == font.family and f.bold), font)
    dx, dy = rng.uniform(-2, 2, 2)

    def px(box):
        return [(box[0] + dx) * scale, (box[1] + dy) * scale, (box[2] + dx) * scale, (box[3] + dy) * scale]

    lw = max(1, dpi // 150)
    for r in spec.rules:
        canvas.rule(*px(r), width=lw)
    for b in spec.boxes:
        canvas.rect(*px(b), width=lw)
    anchor_words: dict[str, list[int]] = {}
    for a in spec.anchors:
        x0, y0, x1, y1 = px(a.box)
        st = _style_for_box(canvas, bold if a.bold else font, a.text, x1 - x0, y1 - y0)
        with canvas.block("header" if a.bold else "text"):
            ln = canvas.text(x0, y0 + (y1 - y0 - st.line_height) / 2, Span(a.text, role="question"), st)
        anchor_words[a.key] = ln.word_ids
    content = Content(rng)
    values: dict[str, str] = {}
    for f in spec.fields:
        lang = spec.lang if spec.lang != "mixed" else ("ko" if rng.random() < 0.6 else "en")
        raw = FIELD_FORMATS[f.format](content, lang)
        ent = raw if isinstance(raw, EntityText) else None
        text = raw.text if ent else str(raw)
        if f.entity is not None:
            ent = EntityText(text, f.entity, ent.value if ent else None, ent.valid if ent else None)
        elif ent is not None and ent.label not in ENTITY_TYPES:
            ent = None
        x0, y0, x1, y1 = px(f.box)
        st = _style_for_box(canvas, font, text, x1 - x0, y1 - y0, max_px=int(10 * dpi / 72 * 1.3))
        x = {"left": x0 + 2, "right": x1 - 2, "center": (x0 + x1) / 2}[f.align]
        with canvas.block("kv"):
            ln = canvas.text(x, y0 + (y1 - y0 - st.line_height) / 2, Span(text, entity=ent, role="answer"), st,
                             align=f.align)
        values[f.name] = " ".join(canvas.words[i].text for i in ln.word_ids)
        if f.anchor is not None:
            canvas.link(anchor_words.get(f.anchor, []), ln.word_ids)
    page = canvas.to_page(kind="template", lang=spec.lang, dpi=dpi, source="lakeocr-synth",
                          template_version=spec.version)
    page.template_id = spec.id
    page.fields = values
    return finish_page(np.asarray(canvas.image), page, rng, rotate=rotate, degrade=degrade)


def _style_for_box(canvas: PageCanvas, font, text: str, width: float, height: float, max_px: int | None = None) -> Style:
    """Largest pixel size (line height <= box height, and <= max_px) whose text fits the box width."""
    size = max(6, int(height * 0.8))
    if max_px is not None:
        size = min(size, max_px)
    st = Style(font, size)
    while size > 6 and (st.line_height > height or canvas.measure(text, st) > width - 4):
        size -= 1
        st = Style(font, size)
    return st
