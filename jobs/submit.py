"""Entry file for `spark-submit` (which wants a file, not a module):

    spark-submit [spark options] jobs/submit.py --master none --no-delta-jars --source ... --lake ...

runs `lakeocr nightly` with the given arguments inside the session spark-submit configured."""
from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # when the project is not installed
    from jobs.cli import main

    sys.exit(main(["nightly", *sys.argv[1:]]))
