"""`lakeocr train MODEL ...`: training entry points (each logs to MLflow and writes shipped weights)."""
from __future__ import annotations

import argparse
import importlib

# model name -> module exposing add_arguments(parser) and run(args)
TRAINERS = {
    "detector": "jobs.train_detector",
    "recognizer": "jobs.train_recognizer",
    "script": "jobs.train_script",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="model", required=True)
    for name, module in TRAINERS.items():
        p = sub.add_parser(name)
        p.set_defaults(_module=module)
        try:
            importlib.import_module(module).add_arguments(p)
        except ModuleNotFoundError as exc:   # only while a trainer is missing from this checkout
            p.set_defaults(_missing=str(exc))


def run(args) -> int:
    if getattr(args, "_missing", None):
        raise SystemExit(f"trainer unavailable: {args._missing}")
    return int(importlib.import_module(args._module).run(args) or 0)
