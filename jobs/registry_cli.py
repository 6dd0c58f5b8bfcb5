"""`lakeocr registry bootstrap|list|resolve|promote`: the MLflow registry side of a roll-out.

    lakeocr registry bootstrap [WEIGHTS_DIR]   register shipped weights (idempotent); sets champion if unset
    lakeocr registry list                      pipeline versions, aliases, component versions
    lakeocr registry resolve [--alias A]       the concrete version an alias points at
    lakeocr registry promote VERSION           move `champion` (or --alias) to VERSION: the roll-out
"""
from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_WEIGHTS = str(Path(__file__).resolve().parent.parent / "models" / "weights")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    b = sub.add_parser("bootstrap", help="register shipped weights as model versions")
    b.add_argument("weights_dir", nargs="?", default=DEFAULT_WEIGHTS)
    b.add_argument("--alias", default="champion")
    sub.add_parser("list", help="list pipeline versions and aliases")
    r = sub.add_parser("resolve", help="print the version an alias points at")
    r.add_argument("--alias", default="champion")
    p = sub.add_parser("promote", help="move an alias to a version (the roll-out)")
    p.add_argument("version")
    p.add_argument("--alias", default="champion")


def run(args) -> int:
    from jobs import registry
    from jobs.mlflow_log import tracking_uri

    if args.action == "bootstrap":
        ref = registry.bootstrap(args.weights_dir, alias=args.alias)
        print(f"{ref.name} v{ref.version} {dict(ref.component_versions)}")
    elif args.action == "list":
        print(f"registry: {tracking_uri()}")
        for row in registry.list_versions():
            aliases = ",".join(row["aliases"]) or "-"
            print(f"v{row['version']:<4} aliases={aliases:<12} digest={row['digest']} {row['components']}")
    elif args.action == "resolve":
        ref = registry.resolve(args.alias)
        print(f"{ref.name}@{args.alias} = v{ref.version} {dict(ref.component_versions)}")
    elif args.action == "promote":
        registry.promote(args.version, alias=args.alias)
    return 0
