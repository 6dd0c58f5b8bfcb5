"""`python -m models.synth {pages,crops,gallery} ...` (same as `lakeocr synth ...`)."""
import argparse
import sys

from models.synth import cli


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.synth", description="synthetic documents")
    cli.add_arguments(parser)
    return int(cli.run(parser.parse_args(argv)) or 0)


if __name__ == "__main__":
    sys.exit(main())
