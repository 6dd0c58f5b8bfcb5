"""Template matching: which registered template a page is, the page -> template transform, and its fields.

Specs are `models.synth.templates.TemplateSpec` (JSON, validated on load; one format for rendering and
matching). Coordinates: a spec is in millimetres from its page's top-left corner; a page is in pixels
(models.types). Matching, per spec:
  1. anchor candidates: runs of consecutive words of a line whose text fuzzy-matches an anchor's text
     (rapidfuzz ratio, case, spaces and trailing colons ignored), each giving the point "middle of the
     left edge" of the run (from the quads' reading-direction TL/BL corners, so rotated pages work) paired
     with the middle of the anchor box's left edge (anchors are printed left-aligned in their boxes);
  2. RANSAC over those pairs with a similarity transform (scale, rotation, shift), then a least-squares
     refit on the inliers: a homography with >= 6 inlier anchors (perspective and skew), else an affine,
     else the similarity: the first that stays locally close to a similarity (anchors down one margin
     do not pin the other axis);
  3. accept the spec with the most inlier anchors if they cover >= `min_anchor_share` of its anchors (and
     at least `min_anchors`), the scale is plausible (2..30 px/mm) and the fit is tight; else
     `template_id = None` (a non-template page is reported as such, never guessed).
Fields: every word whose centre, mapped into template millimetres, lies in a field's box (grown by
`field_margin_mm`) belongs to that field; words are read in order along the template's rows. The text goes
to `page.fields[name]` as read, and the typed reading (entity label, normalised value, valid) to
`page.meta["field_values"][name]` and to `page.entities` (replacing overlapping rule entities).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from rapidfuzz import fuzz

from models.geometry import gap_heights, quad_angle, union_quad
from models.postocr.normalize import normalize
from models.postocr.kr_regions import snap_kr_address
from models.synth.templates import TEMPLATE_DIR, TemplateSpec, load_template
from models.types import Entity, Page


@dataclass(frozen=True)
class MatchConfig:
    min_ratio: float = 80.0          # rapidfuzz ratio for an anchor text match (0..100)
    ransac_mm: float = 4.0           # RANSAC inlier distance in template millimetres
    inlier_mm: float = 2.5           # final inlier distance after the refit
    min_anchors: int = 3
    min_anchor_share: float = 0.5    # share of the spec's anchors that must be inliers
    field_margin_mm: float = 1.0
    join_gap: float = 0.12           # words of a field closer than this many heights are one token: chosen
                                     # end to end on held-out template pages (seed 777: 0.528 -> 0.569 field
                                     # exact match); GT spaces are never this tight (0.2 first joins one)
    scale_px_per_mm: tuple[float, float] = (1.5, 30.0)
    reread: str = "valid"            # read a field's words again as one crop per line (when the pipeline
                                     # passes a reader): "off", "always", or "valid" (always, except where
                                     # only the word-by-word text of a typed field normalises)
    reread_pads: tuple[float, ...] = (0.04, 0.08, 0.16, 0.2, 0.25)   # more crop margins (heights) each field
                                     # line is read with, besides the recognizer's own; the readings vote
                                     # (_reread). Chosen end to end on held-out template pages (seed 777,
                                     # 100 pages: 0.892 with none -> 0.910 with 0.06/0.18/0.25 -> 0.914)


@dataclass(frozen=True)
class TemplateMatch:
    template_id: str
    matrix: np.ndarray               # 3x3, page pixels -> template millimetres
    inliers: tuple[str, ...]         # anchor keys explained by the transform
    share: float                     # inliers / anchors
    rms_mm: float


def _norm(text: str) -> str:
    return re.sub(r"[\s:：.]+", "", text).lower()


def _left_mid(page: Page, ids: list[int]) -> np.ndarray:
    """Middle of the left edge (reading direction) of a run of words: midpoint of its first TL and BL."""
    q = np.asarray(page.words[ids[0]].quad, np.float64)
    return (q[0] + q[3]) / 2


def anchor_candidates(page: Page, spec: TemplateSpec, cfg: MatchConfig) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(anchor key, page point, template point) for every word run that reads like an anchor."""
    lines = [ln.word_ids for ln in page.lines] or [[i] for i in range(len(page.words))]
    texts: dict[tuple[int, int, int], str] = {}       # (line, start, k) -> normalised run text, shared by anchors
    out = []
    for a in spec.anchors:
        target = _norm(a.text)
        if not target:
            continue
        n = len(a.text.split())
        tpt = np.array([a.box[0], (a.box[1] + a.box[3]) / 2], np.float64)
        for li, ln in enumerate(lines):
            for start in range(len(ln)):
                for k in range(max(1, n - 1), n + 2):
                    run = ln[start:start + k]
                    if len(run) < k:
                        break
                    key = (li, start, k)
                    if key not in texts:
                        texts[key] = _norm("".join(page.words[i].text for i in run))
                    text = texts[key]
                    # score_cutoff: rapidfuzz returns 0 below it, and stops early (same test, faster)
                    if text and fuzz.ratio(text, target, score_cutoff=cfg.min_ratio) >= cfg.min_ratio:
                        out.append((a.key, _left_mid(page, run), tpt))
    return out


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    h = np.hstack([pts, np.ones((len(pts), 1))]) @ m.T
    return h[:, :2] / h[:, 2:3]


def _well_conditioned(m: np.ndarray, pts: np.ndarray, max_aspect: float = 2.0) -> bool:
    """A page -> template map that is locally close to a similarity over the matched points: the two
    singular values of its Jacobian at each point differ by at most `max_aspect` (a homography or affine
    fitted to nearly collinear anchors, a form's labels down one margin, squashes the other axis)."""
    eps = 1.0
    for p in pts:
        base = _apply(m, p[None])[0]
        jac = np.stack([_apply(m, (p + [eps, 0])[None])[0] - base, _apply(m, (p + [0, eps])[None])[0] - base], 1)
        if not np.all(np.isfinite(jac)):
            return False
        sv = np.linalg.svd(jac, compute_uv=False)
        if sv[1] <= 0 or sv[0] / sv[1] > max_aspect:
            return False
    return True


def fit_transform(src: np.ndarray, dst: np.ndarray, cfg: MatchConfig) -> tuple[np.ndarray, np.ndarray] | None:
    """RANSAC similarity, then refit on the inliers with the richest model that stays well conditioned
    (homography with >= 6 inliers, else affine, else the similarity itself); (3x3, inlier mask)."""
    if len(src) < cfg.min_anchors:
        return None
    sim, mask = cv2.estimateAffinePartial2D(src.astype(np.float32), dst.astype(np.float32), method=cv2.RANSAC,
                                            ransacReprojThreshold=cfg.ransac_mm, maxIters=2000, confidence=0.995)
    if sim is None or mask is None or int(mask.sum()) < cfg.min_anchors:
        return None
    m = np.vstack([sim, [0, 0, 1]])
    inl = mask.ravel().astype(bool)
    for _ in range(2):                                   # refit, re-select inliers
        s, d = src[inl], dst[inl]
        refits = []
        if len(s) >= 6:
            refits.append(cv2.findHomography(s, d, 0)[0])
        if len(s) >= 3:
            aff = cv2.estimateAffine2D(s, d, method=cv2.LMEDS)[0]
            refits.append(np.vstack([aff, [0, 0, 1]]) if aff is not None else None)
        sim = cv2.estimateAffinePartial2D(s, d, method=cv2.LMEDS)[0]
        refits.append(np.vstack([sim, [0, 0, 1]]) if sim is not None else None)
        refit = next((r for r in refits if r is not None and _well_conditioned(r, s)), None)
        if refit is None:
            break
        err = np.linalg.norm(_apply(refit, src) - dst, axis=1)
        new = err <= cfg.inlier_mm
        if new.sum() < cfg.min_anchors:
            break
        m, inl = refit, new
    return m, inl


def match_template(page: Page, spec: TemplateSpec, cfg: MatchConfig = MatchConfig()) -> TemplateMatch | None:
    cands = anchor_candidates(page, spec, cfg)
    if len(cands) < cfg.min_anchors:
        return None
    src = np.array([c[1] for c in cands], np.float64)
    dst = np.array([c[2] for c in cands], np.float64)
    fit = fit_transform(src, dst, cfg)
    if fit is None:
        return None
    m, inl = fit
    keys = tuple(sorted({cands[i][0] for i in np.flatnonzero(inl)}))
    share = len(keys) / max(1, len(spec.anchors))
    # scale check: a 1 mm step in template space is how many page pixels?
    try:
        inv = np.linalg.inv(m)
    except np.linalg.LinAlgError:
        return None
    c = np.array([[spec.width_mm / 2, spec.height_mm / 2]])
    px = np.linalg.norm(_apply(inv, c + [[1.0, 0.0]]) - _apply(inv, c))
    lo, hi = cfg.scale_px_per_mm
    if len(keys) < cfg.min_anchors or share < cfg.min_anchor_share or not lo <= px <= hi:
        return None
    rms = float(np.sqrt(np.mean(np.sum((_apply(m, src[inl]) - dst[inl]) ** 2, axis=1))))
    return TemplateMatch(spec.id, m, keys, share, rms)


def read_fields(page: Page, spec: TemplateSpec, match: TemplateMatch, cfg: MatchConfig = MatchConfig()) -> dict[str, list[int]]:
    """Field name -> word ids whose mapped centre falls inside the field box (rows top-down, left-right)."""
    if not page.words:
        return {}
    centres = np.array([np.asarray(w.quad, np.float64).mean(axis=0) for w in page.words])
    mapped = _apply(match.matrix, centres)
    out: dict[str, list[int]] = {}
    g = cfg.field_margin_mm
    for f in spec.fields:
        x0, y0, x1, y1 = f.box
        inside = np.flatnonzero((mapped[:, 0] >= x0 - g) & (mapped[:, 0] <= x1 + g) &
                                (mapped[:, 1] >= y0 - g) & (mapped[:, 1] <= y1 + g))
        if len(inside):
            out[f.name] = _reading_order(page, inside.tolist(), mapped)
    return out


def _reading_order(page: Page, ids: list[int], mapped: np.ndarray) -> list[int]:
    """Words of one field: grouped by their line (clustering's line_id; a word without one is its own
    line), lines top to bottom by mapped centre y, words left to right by mapped x."""
    groups: dict[object, list[int]] = {}
    for i in ids:
        lid = page.words[i].line_id
        groups.setdefault(("line", lid) if lid is not None else ("word", i), []).append(i)
    ordered = sorted(groups.values(), key=lambda g: float(np.mean(mapped[g, 1])))
    return [i for g in ordered for i in sorted(g, key=lambda i: float(mapped[i, 0]))]


def join_words(page: Page, ids: list[int], gap: float) -> str:
    """The texts of `ids` (in reading order) joined by spaces, except between consecutive words of one line
    that are closer along the reading direction than `gap` x their height: those are pieces of one token
    the detector split (a date "08.01.25" read as "08 .01 25"), joined with nothing."""
    out = ""
    prev = None
    for i in ids:
        w = page.words[i]
        if not w.text:
            continue
        if prev is not None:
            tight = gap > 0 and prev.line_id is not None and prev.line_id == w.line_id and \
                gap_heights(prev.quad, w.quad) < gap
            out += "" if tight else " "
        out += w.text
        prev = w
    return out


def _line_groups(page: Page, ids: list[int]) -> list[list[int]]:
    """Consecutive words of one line (ids in reading order) -> one group per line."""
    groups: list[list[int]] = []
    for i in ids:
        lid = page.words[i].line_id
        if groups and lid is not None and page.words[groups[-1][-1]].line_id == lid:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


_JUNK = set("-~:;*·,.'\"`|/\\_=#[]^<>!?")


def _is_junk(text: str) -> bool:
    """A word of only rule marks and stray punctuation: what a field box's ruling or a neighbouring
    label's colon reads as (currency signs, %, brackets around text and every letter or digit count)."""
    return bool(text) and all(ch in _JUNK or ch.isspace() for ch in text)


def _trim_junk(page: Page, group: list[int]) -> list[int]:
    """A line's words without the junk words at its two ends (junk inside a line is kept: a split
    token's "-")."""
    lo, hi = 0, len(group)
    while lo < hi and _is_junk(page.words[group[lo]].text):
        lo += 1
    while hi > lo and _is_junk(page.words[group[hi - 1]].text):
        hi -= 1
    return group[lo:hi]


def field_texts(page: Page, spec: TemplateSpec, words_of: dict[str, list[int]], cfg: MatchConfig,
                reader=None, skip: set[int] = frozenset()) -> dict[str, str]:
    """Each field's text, line by line: the words of the line without junk at its ends, joined
    (`join_words`); with a `reader` and `cfg.reread` not "off", the line read again as one crop (the
    union of its word quads: a token the detector cut in two, "947-53-69572" as "947" "53-69572" or a lost
    comma, comes back whole; its spaces are the recognizer's, which placed them better than the words'
    gaps on held-out template pages). "valid" keeps the word-by-word text of a typed field where only that
    one normalises. A typed field that does not normalise loses a short stray token at an end when that
    makes it valid (`_without_strays`). Fields over `skip` words (PII masked) are left as they are."""
    if cfg.reread not in ("off", "always", "valid"):
        raise ValueError(f"reread must be off, always or valid, got {cfg.reread!r}")
    lines = {f.name: [g for g in (_trim_junk(page, g) for g in _line_groups(page, words_of.get(f.name, []))) if g]
             for f in spec.fields}
    texts = {name: " ".join(t for t in (join_words(page, g, cfg.join_gap) for g in groups) if t)
             for name, groups in lines.items()}
    todo = [f for f in spec.fields if lines[f.name] and not skip.intersection(words_of.get(f.name, []))]
    if reader is not None and cfg.reread != "off":
        _reread(page, todo, lines, texts, reader, cfg)
    for f in todo:
        if f.entity == "MONEY" and (spec.lang == "ko" or _WON.search(texts[f.name])):
            texts[f.name] = _WON_GROUP.sub(",", texts[f.name])
        if f.entity == "ADDRESS" and spec.lang == "ko":
            texts[f.name] = snap_kr_address(texts[f.name])
        if f.entity:
            texts[f.name] = _without_strays(f.entity, texts[f.name])
    return texts


_WON = re.compile(r"[₩원]")
# Won has no minor unit, so between digit groups of three a dot (or a doubled mark) is a comma the recognizer
# read as a dot: "₩128.000", "445.,000원" -> "₩128,000", "445,000원".
_WON_GROUP = re.compile(r"(?<=\d)(?:\.,?|,\.|,,)(?=\d{3}(?!\d))")


def _reread(page: Page, todo, lines: dict[str, list[list[int]]], texts: dict[str, str], reader,
            cfg: MatchConfig) -> None:
    """`texts` of the `todo` fields from one read of each field line of several words (field_texts); a
    one-word line's crop is its word's, read already. With `cfg.reread_pads`, every line is also read with
    those crop margins, and a field takes the reading whose summed confidence over the variants that read
    it is highest (agreeing variants add up), a valid value first for a typed field."""
    pads = (None,) + tuple(cfg.reread_pads)
    jobs = [(f.name, k) for f in todo for k, g in enumerate(lines[f.name]) if len(g) > 1 or len(pads) > 1]
    quads = [union_quad([page.words[i].quad for i in lines[name][k]], quad_angle(page.words[lines[name][k][0]].quad))
             for name, k in jobs]
    reads = [dict(zip(jobs, reader(quads) if pad is None else reader(quads, pad=pad))) for pad in pads]
    for f in todo:
        votes: dict[str, float] = {}
        for read in reads:
            parts, conf = [], 1.0
            for k, g in enumerate(lines[f.name]):
                text, c = read[(f.name, k)] if (f.name, k) in read else (page.words[g[0]].text, page.words[g[0]].conf)
                parts.append(text.strip())
                conf *= c
            text = " ".join(t for t in parts if t)
            votes[text] = votes.get(text, 0.0) + conf
        valid = {t: bool(f.entity) and normalize(f.entity, t)[1] is True for t in votes}
        text = max(votes, key=lambda t: (valid[t], votes[t]))
        if cfg.reread == "valid" and f.entity and normalize(f.entity, text)[1] is False and \
                normalize(f.entity, texts[f.name])[1]:
            continue                      # only the word-by-word reading is a valid value: keep it
        texts[f.name] = text


def _without_strays(entity: str, text: str) -> str:
    """A typed field whose text does not normalise but does without one short token (<= 2 characters: a
    ruling or a neighbour's mark read as "e", ")") at either end: that text ("206,000원 투" -> "206,000원")."""
    if normalize(entity, text)[1] is not False:
        return text
    tokens = text.split()
    for lo, hi in ((0, -1), (1, None), (1, -1)):
        cut = tokens[lo:hi]
        dropped = tokens[:lo] + (tokens[hi:] if hi else [])
        if cut and all(len(t) <= 2 for t in dropped) and normalize(entity, " ".join(cut))[1]:
            return " ".join(cut)
    return text


class TemplateRegistry:
    """The shipped specs (models/templates) plus user-added ones from `user_dir`; ids must be unique."""

    def __init__(self, user_dir: str | Path | None = None, shipped_dir: str | Path = TEMPLATE_DIR):
        self.shipped_dir = Path(shipped_dir)
        self.user_dir = Path(user_dir) if user_dir else None
        self.specs: dict[str, TemplateSpec] = {}
        self.origin: dict[str, Path] = {}
        for d in [self.shipped_dir] + ([self.user_dir] if self.user_dir else []):
            for path in sorted(d.glob("*.json")) if d.is_dir() else []:
                spec = load_template(path)
                if spec.id in self.specs:
                    raise ValueError(f"{path}: template id {spec.id!r} is already registered by {self.origin[spec.id]}")
                self.specs[spec.id] = spec
                self.origin[spec.id] = path

    def add(self, path: str | Path, replace: bool = False) -> TemplateSpec:
        """Validate a spec file and copy it into the user folder as `<id>.json`."""
        if self.user_dir is None:
            raise ValueError("this registry has no user folder to add templates to")
        spec = load_template(path)
        if spec.id in self.specs and not (replace and self.origin[spec.id].parent == self.user_dir):
            raise ValueError(f"template id {spec.id!r} already exists ({self.origin[spec.id]}); "
                             "choose another id" + ("" if replace else " or pass --replace for a user template"))
        self.user_dir.mkdir(parents=True, exist_ok=True)
        dest = self.user_dir / f"{spec.id}.json"
        dest.write_text(Path(path).read_text(encoding="utf-8"), encoding="utf-8")
        self.specs[spec.id], self.origin[spec.id] = spec, dest
        return spec


@dataclass
class TemplateMatcher:
    """Stage: `page.template_id`, `page.fields` and typed field values for pages of a registered template.
    Called with a `reader` (models.pipeline.RegionReader) it reads fields again as whole crops
    (`MatchConfig.reread`)."""
    reads_regions = True
    specs: dict[str, TemplateSpec] = field(default_factory=lambda: TemplateRegistry().specs)
    config: MatchConfig = MatchConfig()

    def match(self, page: Page) -> tuple[TemplateSpec, TemplateMatch] | None:
        best = None
        for spec in self.specs.values():
            m = match_template(page, spec, self.config)
            if m is not None and (best is None or (len(m.inliers), m.share, -m.rms_mm) >
                                  (len(best[1].inliers), best[1].share, -best[1].rms_mm)):
                best = (spec, m)
        return best

    def __call__(self, page: Page, reader=None) -> Page:
        found = self.match(page)
        if found is None:
            page.template_id = None
            return page
        spec, m = found
        page.template_id = spec.id
        page.meta["template_match"] = {"version": spec.version, "anchors": list(m.inliers),
                                       "share": round(m.share, 3), "rms_mm": round(m.rms_mm, 3)}
        typed: dict[str, dict] = {}
        field_entities = []
        words_of = read_fields(page, spec, m, self.config)
        masked = set(page.meta.get("pii_masked_words", []))
        texts = field_texts(page, spec, words_of, self.config, reader, skip=masked)
        for f in spec.fields:
            ids = words_of.get(f.name, [])
            text = texts[f.name]
            page.fields[f.name] = text
            value, valid = normalize(f.entity, text) if f.entity else (text, None)
            if masked.intersection(ids):          # PII masked upstream: keep the entity's salted hash
                hashed = next((e for e in page.entities if set(ids) & set(e.word_ids) and
                               str(e.value).startswith("sha256:")), None)
                value, valid = (hashed.value, hashed.valid) if hashed else (None, None)
            typed[f.name] = {"entity": f.entity, "value": value, "valid": valid}
            if f.entity and ids and not masked.intersection(ids):
                field_entities.append(Entity(f.entity, text, list(ids), value, valid))
        page.meta["field_values"] = typed
        taken = {i for e in field_entities for i in e.word_ids}
        page.entities = sorted([e for e in page.entities if not taken.intersection(e.word_ids)] + field_entities,
                               key=lambda e: min(e.word_ids) if e.word_ids else -1)
        return page
