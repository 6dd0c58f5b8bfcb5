"""`lakeocr templates add SPEC.json [--registry DIR] [--replace]` and `lakeocr templates list [--registry DIR]`.

The registry is the shipped specs (models/templates/) plus a user folder (default: $LAKEOCR_TEMPLATES or
./templates). `add` validates the spec (models.synth.templates.TemplateSpec) and copies it there as
`<id>.json`; a malformed spec is rejected with the validator's message and exit status 2.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_REGISTRY = os.environ.get("LAKEOCR_TEMPLATES", "templates")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="validate a template spec (JSON) and add it to the registry")
    add.add_argument("spec", type=Path)
    add.add_argument("--registry", type=Path, default=Path(DEFAULT_REGISTRY), help="user template folder")
    add.add_argument("--replace", action="store_true", help="replace a user template with the same id")
    ls = sub.add_parser("list", help="list registered templates (shipped + user)")
    ls.add_argument("--registry", type=Path, default=Path(DEFAULT_REGISTRY), help="user template folder")


def run(args: argparse.Namespace) -> int:
    from models.postocr.templates import TemplateRegistry
    try:
        reg = TemplateRegistry(args.registry)
        if args.action == "add":
            spec = reg.add(args.spec, replace=args.replace)
            print(f"added {spec.id} v{spec.version}: {len(spec.anchors)} anchors, {len(spec.fields)} fields "
                  f"-> {reg.origin[spec.id]}")
            return 0
        for tid, spec in sorted(reg.specs.items()):
            where = "shipped" if reg.origin[tid].parent == reg.shipped_dir else "user"
            print(f"{tid:28s} v{spec.version}  {where:7s}  {len(spec.anchors):2d} anchors  {len(spec.fields):2d} fields  "
                  f"{spec.width_mm:g}x{spec.height_mm:g} mm  {spec.name}")
        return 0
    except (ValueError, FileNotFoundError) as exc:
        print(f"lakeocr templates: {exc}", file=sys.stderr)
        return 2
