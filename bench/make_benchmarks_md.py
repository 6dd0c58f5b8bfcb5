"""Regenerate docs/BENCHMARKS.md: lakeocr vs Tesseract vs RapidOCR, all scored by `lakeocr evaluate`.

    python bench/make_benchmarks_md.py --run --fresh-synth   # render the synthetic sets, evaluate every
                                                             # engine on every dataset, then write
    python bench/make_benchmarks_md.py                # only re-render from bench/results/*.json

Each (engine, dataset) evaluation is one `lakeocr evaluate ... --json` subprocess (niced, one at a time, one
thread), saved as bench/results/<engine>__<dataset>.json; an engine that cannot run (peer not installed, no
weights yet) leaves <engine>__<dataset>.error with the reason, shown in the table. The stage benchmark
(bench/bench_pipeline.py) writes bench/results/pipeline.json, rendered here when present.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BENCHDATA = ROOT.parent / "shared" / "benchdata"
DEFAULT_DATASETS = [BENCHDATA / "funsd", BENCHDATA / "sroie"]

# engine label -> extra `lakeocr evaluate` arguments
ENGINES: dict[str, list[str]] = {
    "lakeocr": ["--engine", "lakeocr"],
    "lakeocr+gt-boxes": ["--engine", "lakeocr", "--gt-boxes"],   # readers alone, on the GT boxes
    "lakeocr+reread": ["--engine", "lakeocr", "--reread"],        # doubtful crops read again, stretched
    "lakeocr+gt-boxes+reread": ["--engine", "lakeocr", "--gt-boxes", "--reread"],
    "tesseract-eng": ["--engine", "tesseract", "--lang", "eng"],
    "tesseract-kor+eng": ["--engine", "tesseract", "--lang", "kor+eng"],
    "tesseract-eng-psm11": ["--engine", "tesseract", "--lang", "eng", "--psm", "11"],   # sparse text
    "tesseract-eng+postocr": ["--engine", "tesseract", "--lang", "eng", "--postocr"],   # + our post-OCR
    "rapidocr": ["--engine", "rapidocr"],
}
DEFAULT_ENGINES = ["lakeocr", "lakeocr+gt-boxes", "lakeocr+reread", "lakeocr+gt-boxes+reread", "tesseract-eng",
                   "tesseract-kor+eng", "tesseract-eng-psm11", "tesseract-eng+postocr", "rapidocr"]
SYNTH_DIR = ROOT / "runs" / "bench_synth"          # gitignored; re-rendered from the seeds below
SYNTH_SETS = {"synth_ko": ("ko", 90001), "synth_mixed": ("mixed", 90002)}   # name -> (lang, seed)

COLUMNS = [  # (header, path in the dataset metrics, format)
    ("det P", ("det", "precision"), ".3f"), ("det R", ("det", "recall"), ".3f"), ("det H", ("det", "hmean"), ".3f"),
    ("e2e F1", ("e2e", "hmean"), ".3f"), ("CER", ("rec", "cer"), ".3f"), ("word acc", ("rec", "word_acc"), ".3f"),
    ("page CER", ("page_cer",), ".3f"), ("page CER no sp.", ("page_cer_nospace",), ".3f"),
    ("BoW F1", ("bow", "hmean"), ".3f"), ("key-field F1", ("fields", "hmean"), ".3f"),
    ("link F1", ("links", "hmean"), ".3f"), ("pages/s (wall)", ("pages_per_s",), ".2f"),
    ("pages per CPU-s", ("pages_per_cpu_s",), ".2f"),
]


def result_path(engine: str, dataset: str, suffix: str = ".json") -> Path:
    return RESULTS / f"{engine}__{dataset}{suffix}"


def render_synth(n: int, fresh: bool) -> list[Path]:
    """Render the synthetic Korean and mixed sets (`lakeocr synth pages`, held-out `eval` fonts, fixed seeds).
    A set already holding n pages is kept (so a partial --run scores the same images as the earlier one)
    unless `fresh`."""
    import shutil

    out = []
    for name, (lang, seed) in SYNTH_SETS.items():
        d = SYNTH_DIR / name
        if d.exists() and not fresh and len(list((d / "gt").glob("*.json"))) == n:
            out.append(d)
            continue
        if d.exists():
            shutil.rmtree(d)
        cmd = ["nice", "-n", "10", sys.executable, "-m", "jobs.cli", "synth", "pages", "--n", str(n), "--lang", lang,
               "--fonts", "eval", "--seed", str(seed), "--out", str(d)]
        print("+", " ".join(cmd), file=sys.stderr)
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
        out.append(d)
    return out


def run_one(engine: str, dataset: Path, extra: list[str]) -> None:
    """One evaluation subprocess; writes the .json or the .error file."""
    out, err = result_path(engine, dataset.name), result_path(engine, dataset.name, ".error")
    out.unlink(missing_ok=True)
    err.unlink(missing_ok=True)
    cmd = ["nice", "-n", "10", sys.executable, "-m", "jobs.cli", "evaluate", str(dataset), *ENGINES[engine],
           "--threads", "1", "--json", "--save-json", str(out), *extra]
    print("+", " ".join(cmd), file=sys.stderr)
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0 or not out.exists():
        reason = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        err.write_text(reason + "\n", encoding="utf-8")
        print(f"  {engine} on {dataset.name}: {reason}", file=sys.stderr)


def _get(m: dict, path: tuple[str, ...]):
    for k in path:
        if not isinstance(m, dict):
            return None
        m = m.get(k)
    return m


def accuracy_tables(engines: list[str], datasets: list[str]) -> list[str]:
    lines = []
    for ds in datasets:
        if not any(result_path(e, ds).exists() or result_path(e, ds, ".error").exists() for e in engines):
            continue
        lines += [f"### {ds}", "", "| engine | version | " + " | ".join(c[0] for c in COLUMNS) + " | peak RSS MiB |",
                  "|" + " --- |" * (len(COLUMNS) + 3)]
        for eng in engines:
            js, er = result_path(eng, ds), result_path(eng, ds, ".error")
            if js.exists():
                s = json.loads(js.read_text(encoding="utf-8"))
                m = s["datasets"][ds]
                cells = ["-" if _get(m, p) is None else format(_get(m, p), f) for _, p, f in COLUMNS]
                rss = max(s["peak_rss_mb"].values())
                lines.append(f"| {eng} | {s['engine_version']} | " + " | ".join(cells) + f" | {rss:.0f} |")
            elif er.exists():
                lines.append(f"| {eng} | not run: {er.read_text(encoding='utf-8').strip()} |"
                             + " |" * (len(COLUMNS) + 1))
        lines.append("")
    return lines


def pipeline_tables() -> list[str]:
    path = RESULTS / "pipeline.json"
    if not path.exists():
        return ["Not measured yet: run `python bench/bench_pipeline.py`.", ""]
    b = json.loads(path.read_text(encoding="utf-8"))
    lines = [f"Measured {b['started']} on {b['host']['cpus']} CPUs ({b['host']['machine']}), device {b['device']}, "
             f"{b['pages']} benchdata pages (mean {b['mean_megapixels']:.2f} Mpx), model versions "
             f"`{json.dumps(b['model_versions'])}`.", "",
             "| threads | stage | pages/s | crops/s | s/page | CPU s/page | peak RSS MiB |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in b["stages"]:
        fmt = lambda v, f: "-" if v is None else format(v, f)   # noqa: E731
        lines.append(f"| {r['threads']} | {r['stage']} | {fmt(r.get('pages_per_s'), '.2f')} | "
                     f"{fmt(r.get('crops_per_s'), '.1f')} | {fmt(r.get('s_per_page'), '.3f')} | "
                     f"{fmt(r.get('cpu_s_per_page'), '.3f')} | "
                     f"{fmt(r.get('peak_rss_mb'), '.0f')} |")
    if b.get("sweep"):
        lines += ["", "Page-count sweep (whole pipeline, one batch per call):", "",
                  "| threads | pages | seconds | CPU seconds | pages/s |", "| --- | --- | --- | --- | --- |"]
        lines += [f"| {r['threads']} | {r['pages']} | {r['seconds']:.2f} | {r['cpu_seconds']:.2f} | "
                  f"{r['pages_per_s']:.2f} |" for r in b["sweep"]]
    if b.get("skipped"):
        lines += ["", "Stages not measured: " + "; ".join(f"{k}: {v}" for k, v in b["skipped"].items())]
    return lines + [""]


def render(engines: list[str], datasets: list[str]) -> str:
    stamps = sorted(json.loads(p.read_text(encoding="utf-8"))["started"] for p in RESULTS.glob("*__*.json"))
    host = next((json.loads(p.read_text(encoding="utf-8"))["host"] for p in RESULTS.glob("*__*.json")), {})
    lines = [
        "# Benchmarks",
        "",
        "Generated by `python bench/make_benchmarks_md.py --run --fresh-synth` (do not edit by hand). Every figure is",
        "computed by the same code (`lakeocr evaluate`, definitions in docs/EVALUATION.md) on the same images.",
        f"Evaluations ran {stamps[0] if stamps else '-'} .. {stamps[-1] if stamps else '-'} UTC on "
        f"{host.get('cpus', '?')} CPUs ({host.get('machine', '?')}), one engine thread, niced, on a machine shared "
        "with other jobs: speeds are indicative.",
        "",
        "Datasets: `../shared/benchdata` (DEV part; FUNSD = word boxes, SROIE = text-line boxes; see its README);",
        "`synth_ko` / `synth_mixed`: pages from `lakeocr synth pages --lang ko|mixed --fonts eval` (held-out fonts,",
        f"seeds {', '.join(str(s) for _, s in SYNTH_SETS.values())}; word boxes; our own renderer, so they favour",
        "lakeocr, which trains on the same generator with other fonts and seeds).",
        "Detection is matched one-to-one at IoU 0.5 at the GT's granularity; e2e F1 needs the matched box's text",
        "to be exact (SROIE case-folded, its GT being upper-case). Key-field F1 needs an engine that extracts",
        "fields, and link F1 needs one that links keys to values: peers extract neither, so theirs are 0 by definition.",
        "",
        "## Accuracy and speed",
        "",
        *accuracy_tables(engines, datasets),
        "## Pipeline stages (bench/bench_pipeline.py)",
        "",
        *pipeline_tables(),
        f"_Rendered {datetime.now(timezone.utc).isoformat(timespec='seconds')}._",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", action="store_true", help="run the evaluations first (else only render)")
    ap.add_argument("--engines", nargs="+", default=DEFAULT_ENGINES, choices=sorted(ENGINES))
    ap.add_argument("--datasets", nargs="+", type=Path, default=DEFAULT_DATASETS)
    ap.add_argument("--synth", type=int, default=10, help="pages per synthetic set (0: none)")
    ap.add_argument("--fresh-synth", action="store_true", help="re-render the synthetic sets even if present")
    ap.add_argument("--no-mlflow", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    args = ap.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    datasets = list(args.datasets)
    if args.synth > 0:
        datasets += render_synth(args.synth, args.fresh_synth) if args.run else [SYNTH_DIR / n for n in SYNTH_SETS]
    if args.run:
        for eng in args.engines:
            for ds in datasets:
                run_one(eng, ds, ["--no-mlflow"] if args.no_mlflow else [])
    # render every engine with results (a run of a subset of engines keeps the others' earlier rows)
    args.out.write_text(render(list(ENGINES), [d.name for d in datasets]), encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
