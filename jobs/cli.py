"""`lakeocr` — the one command-line tool. Each subcommand lives in its own module and is imported
only when used, so `lakeocr ocr` never starts Spark and `lakeocr --help` is instant.

A subcommand module exposes `add_arguments(parser)` and `run(args) -> int`.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, one-line help). Modules must follow jobs -> udfs -> models imports.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("models.synth.cli", "render synthetic documents, crops and galleries"),
    "train": ("jobs.train", "train a model (detector, recognizer, script) and log it to MLflow"),
    "ocr": ("jobs.ocr_cli", "OCR images or folders to <stem>.json files (no Spark)"),
    "evaluate": ("jobs.evaluate", "score an engine (lakeocr, tesseract, rapidocr) on labelled dataset folders"),
    "nightly": ("jobs.nightly_cli", "run the nightly Spark job: archive -> OCR -> Delta tables (incremental)"),
    "query": ("jobs.query", "SQL over the lake's Delta tables (DuckDB/delta-rs, or --engine spark)"),
    "registry": ("jobs.registry_cli", "MLflow registry: bootstrap shipped weights, list, resolve, promote"),
    "templates": ("jobs.templates_cli", "document templates: add a spec (validated) or list the registry"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lakeocr", description="Batch document OCR on Spark + Delta.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, help_text) in SUBCOMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in SUBCOMMANDS:
        parser = build_parser()
        if argv and argv[0] not in ("-h", "--help"):
            parser.error(f"unknown command {argv[0]!r}; choose from {', '.join(SUBCOMMANDS)}")
        parser.print_help()
        return 0
    name, rest = argv[0], argv[1:]
    module = importlib.import_module(SUBCOMMANDS[name][0])
    parser = argparse.ArgumentParser(prog=f"lakeocr {name}", description=SUBCOMMANDS[name][1])
    module.add_arguments(parser)
    args = parser.parse_args(rest)
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
