"""Markdown report of an evaluation: the summary table and the worst pages drawn, so a person sees where the
engine fails. Pure file output (OpenCV PNGs + one README.md); no Spark, no MLflow.

Colours on the drawn pages (BGR):
    green   predicted box matched a GT box and its text is right
    orange  predicted box matched a GT box but its text is wrong (GT text -> predicted text is listed)
    red     GT box nobody matched (a miss)
    magenta predicted box that matched no GT box (a false alarm)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.eval.pages import PageResult, page_units
from models.types import Page

GREEN, ORANGE, RED, MAGENTA = (60, 170, 60), (0, 140, 255), (40, 40, 220), (200, 60, 200)


@dataclass(frozen=True)
class ReportConfig:
    worst_pages: int = 5
    max_side: int = 1400          # drawn pages are downscaled to this long side
    errors_per_page: int = 15     # text errors listed under each drawn page


@dataclass
class PageCase:
    """What the report needs of one page."""
    result: PageResult
    image_path: Path
    pred: Page
    gt: Page
    dataset: str


def draw_page(image: np.ndarray, pred: Page, gt: Page, result: PageResult, max_side: int = 1400) -> np.ndarray:
    """The page with GT misses, false alarms, wrong and right reads drawn in the report's colours."""
    canvas = image.copy() if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    pu, gu = page_units(pred, result.granularity), page_units(gt, result.granularity)
    matched_p = {i: ok for i, _, _, ok in result.matches}
    matched_g = {j for _, j, _, _ in result.matches}
    for j, u in enumerate(gu):
        if j not in matched_g:
            _poly(canvas, u.quad, RED, 2)
    for i, u in enumerate(pu):
        colour = MAGENTA if i not in matched_p else (GREEN if matched_p[i] else ORANGE)
        _poly(canvas, u.quad, colour, 1 if colour == GREEN else 2)
    scale = min(1.0, max_side / max(canvas.shape[:2]))
    if scale < 1.0:
        canvas = cv2.resize(canvas, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return canvas


def _poly(img: np.ndarray, quad, colour, thickness: int) -> None:
    pts = np.round(np.asarray(quad, np.float64)).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(img, [pts], True, colour, thickness, lineType=cv2.LINE_AA)


def text_errors(case: PageCase, limit: int) -> list[tuple[str, str]]:
    """(GT text, predicted text) of matched pairs whose texts differ, first `limit`."""
    pu = page_units(case.pred, case.result.granularity)
    gu = page_units(case.gt, case.result.granularity)
    return [(gu[j].text, pu[i].text) for i, j, _, ok in case.result.matches if not ok][:limit]


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def _md_escape(s: str) -> str:
    return s.replace("|", "\\|").replace("`", "'")


def summary_table(summary: dict) -> list[str]:
    """Markdown rows of the headline figures per dataset (summary['datasets'][name] = aggregate dict)."""
    rows = ["| dataset | pages | det P | det R | det H | e2e F1 | CER | word acc | page CER | page CER (no sp.) "
            "| BoW F1 | key-field F1 | link F1 | pages/s |",
            "|" + " --- |" * 14]
    for name, m in summary["datasets"].items():
        f = (m.get("fields") or {}).get("hmean")
        link = (m.get("links") or {}).get("hmean")
        rows.append(f"| {name} | {m['pages']} | {_fmt(m['det']['precision'])} | {_fmt(m['det']['recall'])} | "
                    f"{_fmt(m['det']['hmean'])} | {_fmt(m['e2e']['hmean'])} | {_fmt(m['rec']['cer'])} | "
                    f"{_fmt(m['rec']['word_acc'])} | {_fmt(m['page_cer'])} | {_fmt(m['page_cer_nospace'])} | "
                    f"{_fmt(m['bow']['hmean'])} | {_fmt(f)} | {_fmt(link)} | {_fmt(m.get('pages_per_s'))} |")
    return rows


def write_report(out_dir: str | Path, summary: dict, cases: list[PageCase],
                 config: ReportConfig = ReportConfig()) -> Path:
    """Write `out_dir/README.md` + `out_dir/pages/*.png` (worst pages by end-to-end F1, then page CER).
    Returns the Markdown path."""
    out = Path(out_dir)
    (out / "pages").mkdir(parents=True, exist_ok=True)
    lines = [f"# Evaluation of {summary['engine']} ({summary.get('engine_version', '')})", "",
             *summary_table(summary), "",
             "Colours: green = right read, orange = box found but text wrong, red = GT box missed, "
             "magenta = predicted box with no GT. Definitions: docs/EVALUATION.md.", ""]
    worst = sorted(cases, key=lambda c: (c.result.e2e_hmean, -c.result.page_cer))[: config.worst_pages]
    lines += [f"## The {len(worst)} worst pages", ""]
    for case in worst:
        r = case.result
        image = cv2.imread(str(case.image_path), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"cannot read image {case.image_path}")
        png = out / "pages" / f"{case.dataset}__{Path(r.name).stem}.png"
        cv2.imwrite(str(png), draw_page(image, case.pred, case.gt, r, config.max_side))
        lines += [f"### {case.dataset} / {r.name}", "",
                  f"e2e F1 {_fmt(r.e2e_hmean)}, page CER {_fmt(r.page_cer)}, GT units {r.n_gt}, "
                  f"predicted {r.n_pred}, matched {r.det_tp}, right text {r.e2e_tp}", "",
                  f"![{r.name}](pages/{png.name})", ""]
        errors = text_errors(case, config.errors_per_page)
        if errors:
            lines += ["| GT | predicted |", "| --- | --- |"]
            lines += [f"| `{_md_escape(g)}` | `{_md_escape(p)}` |" for g, p in errors]
            lines.append("")
    lines += ["## All pages", "", "| dataset | page | GT | pred | det tp | e2e F1 | page CER |", "|" + " --- |" * 7]
    for c in sorted(cases, key=lambda c: (c.dataset, c.result.name)):
        r = c.result
        lines.append(f"| {c.dataset} | {r.name} | {r.n_gt} | {r.n_pred} | {r.det_tp} | {_fmt(r.e2e_hmean)} | "
                     f"{_fmt(r.page_cer)} |")
    md = out / "README.md"
    md.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return md
