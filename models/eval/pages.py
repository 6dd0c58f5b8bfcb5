"""Page-level evaluation: one predicted Page against one GT Page, then micro-averaged over a dataset.

Comparison level: the GT's `granularity` (meta key of the benchdata format). "line" (SROIE) compares
predicted lines with GT lines; anything else compares words. A prediction without lines is grouped into
lines by its words' `line_id` (words without one stay alone).

Everything a dataset score needs is kept as counts in `PageResult`, so the dataset figures are sums of
counts divided once (micro averages), never means of per-page ratios. Definitions: docs/EVALUATION.md.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np

from models.eval.fields import field_counts, link_counts
from models.eval.metrics import IOU_THRESHOLD, edit_distance, match_quads, normalize_text, prf
from models.geometry import union_quad
from models.types import Page

CASEFOLD_MODES = ("auto", "yes", "no")


@dataclass(frozen=True)
class EvalConfig:
    iou: float = IOU_THRESHOLD
    casefold: str = "auto"          # auto: fold case when the GT page has letters but no lower-case ones
    granularity: str | None = None  # None: the GT's own ("line" or "word")

    def __post_init__(self):
        if self.casefold not in CASEFOLD_MODES:
            raise ValueError(f"casefold must be one of {CASEFOLD_MODES}, got {self.casefold!r}")
        if self.granularity not in (None, "word", "line"):
            raise ValueError(f"granularity must be None, 'word' or 'line', got {self.granularity!r}")
        if not 0.0 < self.iou <= 1.0:
            raise ValueError(f"iou must be in (0, 1], got {self.iou}")


@dataclass(frozen=True)
class Unit:
    """One comparable text region: a word or a line."""
    quad: np.ndarray
    text: str


# ------------------------------------------------------------------------------------------ units
def gt_granularity(gt: Page) -> str:
    return "line" if gt.meta.get("granularity") == "line" else "word"


def page_units(page: Page, granularity: str) -> list[Unit]:
    """Words, or lines (given ones; else words grouped by line_id; else the words themselves)."""
    if granularity == "word":
        return [Unit(w.quad, w.text) for w in page.words]
    if page.lines:
        return [Unit(ln.quad, ln.text or " ".join(page.words[i].text for i in ln.word_ids)) for ln in page.lines]
    groups: dict[object, list[int]] = {}
    for i, w in enumerate(page.words):
        groups.setdefault(("line", w.line_id) if w.line_id is not None else ("word", i), []).append(i)
    units = []
    for ids in groups.values():
        quad = page.words[ids[0]].quad if len(ids) == 1 else union_quad([page.words[i].quad for i in ids])
        units.append(Unit(quad, " ".join(page.words[i].text for i in ids)))
    return units


def reading_order(quads) -> list[int]:
    """A canonical top-to-bottom, left-to-right order: units whose centre lies within half the row's median
    height of the row's first unit form a row; rows are read left to right. Applied to GT and predictions
    alike, so page CER does not depend on the order the GT file or an engine happens to list units in."""
    if len(quads) == 0:
        return []
    q = np.asarray([np.asarray(x, np.float64) for x in quads])
    cy, cx = q[:, :, 1].mean(axis=1), q[:, :, 0].mean(axis=1)
    h = q[:, :, 1].max(axis=1) - q[:, :, 1].min(axis=1)
    rows: list[list[int]] = []
    for i in np.argsort(cy, kind="stable"):
        if rows:
            row = rows[-1]
            tol = 0.5 * float(np.median(h[row]))
            if abs(cy[i] - cy[row[0]]) <= tol:
                row.append(int(i))
                continue
        rows.append([int(i)])
    return [i for row in rows for i in sorted(row, key=lambda k: cx[k])]


def page_text(units: list[Unit], casefold: bool) -> str:
    """Unit texts in canonical reading order, joined by single spaces, normalised."""
    order = reading_order([u.quad for u in units])
    return normalize_text(" ".join(units[i].text for i in order), casefold)


def _fold_case(gt: Page, mode: str) -> bool:
    if mode != "auto":
        return mode == "yes"
    text = "".join(w.text for w in gt.words) + "".join(ln.text for ln in gt.lines)
    return any(c.isalpha() for c in text) and not any(c.islower() for c in text)


# ------------------------------------------------------------------------------------------ one page
@dataclass
class PageResult:
    """Counts of one page; `matches` are (pred_unit, gt_unit, iou, text_equal) for the report."""
    name: str
    granularity: str
    casefold: bool
    n_pred: int
    n_gt: int
    det_tp: int
    e2e_tp: int
    rec_edits: int
    rec_gt_chars: int
    rec_exact: int
    page_edits: int
    page_gt_chars: int
    page_edits_nospace: int
    page_gt_chars_nospace: int
    bow_tp: int
    bow_pred: int
    bow_gt: int
    fields: tuple[int, int, int] | None = None
    links: tuple[int, int, int] | None = None
    seconds: float | None = None          # wall time of the engine call
    cpu_seconds: float | None = None      # CPU time of the engine call (process + children)
    matches: list[tuple[int, int, float, bool]] = field(default_factory=list)

    @property
    def e2e_hmean(self) -> float:
        return prf(self.e2e_tp, self.n_pred, self.n_gt)["hmean"]

    @property
    def page_cer(self) -> float:
        return self.page_edits / self.page_gt_chars if self.page_gt_chars else float(self.page_edits > 0)

    def as_dict(self) -> dict:
        d = asdict(self)
        d.pop("matches")
        d["e2e_hmean"], d["page_cer"] = self.e2e_hmean, self.page_cer
        return d


def evaluate_page(pred: Page, gt: Page, config: EvalConfig = EvalConfig(), name: str = "") -> PageResult:
    """Compare one predicted page with its GT page (same image, same pixel frame)."""
    if (pred.width, pred.height) != (gt.width, gt.height):
        raise ValueError(f"{name}: prediction is {pred.width}x{pred.height} but GT is {gt.width}x{gt.height}")
    gran = config.granularity or gt_granularity(gt)
    fold = _fold_case(gt, config.casefold)
    pu, gu = page_units(pred, gran), page_units(gt, gran)
    matches = match_quads([u.quad for u in pu], [u.quad for u in gu], config.iou)
    rec_edits = rec_chars = exact = 0
    detailed = []
    for i, j, iou in matches:
        p, g = normalize_text(pu[i].text, fold), normalize_text(gu[j].text, fold)
        rec_edits += edit_distance(p, g)
        rec_chars += len(g)
        exact += int(p == g)
        detailed.append((i, j, iou, p == g))
    pt, gt_text = page_text(pu, fold), page_text(gu, fold)
    pt_ns, gt_ns = pt.replace(" ", ""), gt_text.replace(" ", "")
    bp, bg = Counter(pt.split()), Counter(gt_text.split())
    return PageResult(
        name=name, granularity=gran, casefold=fold, n_pred=len(pu), n_gt=len(gu), det_tp=len(matches),
        e2e_tp=exact, rec_edits=rec_edits, rec_gt_chars=rec_chars, rec_exact=exact,
        page_edits=edit_distance(pt, gt_text), page_gt_chars=len(gt_text),
        page_edits_nospace=edit_distance(pt_ns, gt_ns), page_gt_chars_nospace=len(gt_ns),
        bow_tp=sum((bp & bg).values()), bow_pred=sum(bp.values()), bow_gt=sum(bg.values()),
        fields=field_counts(pred, gt), links=link_counts(pred, gt), matches=detailed)


# ------------------------------------------------------------------------------------------ dataset
def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _sum_triples(triples) -> tuple[int, int, int] | None:
    triples = [t for t in triples if t is not None]
    if not triples:
        return None
    return tuple(int(sum(t[k] for t in triples)) for k in range(3))


def aggregate(results: list[PageResult]) -> dict:
    """Dataset figures from page counts (micro averages). Keys are the JSON schema of `lakeocr evaluate`;
    a figure that has no data (no fields in the GT, no timing) is None."""
    s = lambda attr: int(sum(getattr(r, attr) for r in results))   # noqa: E731
    det = prf(s("det_tp"), s("n_pred"), s("n_gt"))
    e2e = prf(s("e2e_tp"), s("n_pred"), s("n_gt"))
    bow = prf(s("bow_tp"), s("bow_pred"), s("bow_gt"))
    fields = _sum_triples(r.fields for r in results)
    links = _sum_triples(r.links for r in results)
    secs = [r.seconds for r in results if r.seconds is not None]
    cpu = [r.cpu_seconds for r in results if r.cpu_seconds is not None]
    return {
        "pages": len(results),
        "granularity": sorted({r.granularity for r in results}),
        "det": det,
        "e2e": e2e,
        "rec": {"cer": _ratio(s("rec_edits"), s("rec_gt_chars")), "word_acc": _ratio(s("rec_exact"), s("det_tp")),
                "n_pairs": s("det_tp")},
        "page_cer": _ratio(s("page_edits"), s("page_gt_chars")),
        "page_cer_nospace": _ratio(s("page_edits_nospace"), s("page_gt_chars_nospace")),
        "bow": bow,
        "fields": prf(*fields) if fields else None,
        "links": prf(*links) if links else None,
        "seconds": float(sum(secs)) if secs else None,
        "pages_per_s": (len(secs) / sum(secs)) if secs and sum(secs) > 0 else None,
        "cpu_seconds": float(sum(cpu)) if cpu else None,
        "pages_per_cpu_s": (len(cpu) / sum(cpu)) if cpu and sum(cpu) > 0 else None,
    }
