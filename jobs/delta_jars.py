"""Delta Lake's Spark jars, fetched once into `.cache/jars/` so every later job starts offline.

`python -m jobs.delta_jars` resolves io.delta:delta-spark_2.13 (+ delta-storage and their transitive
dependencies) from Maven Central with Spark's own Ivy resolution (the mechanism behind
`configure_spark_with_delta_pip` / `spark.jars.packages`), with the Ivy cache under `.cache/ivy`.
Only the jars that Spark does not already ship are copied into `.cache/jars/`: the resolver also returns
older parquet / hadoop / jackson / log4j jars that would shadow Spark's own. When the Ivy route fails
(no Spark launcher, a proxy that only Maven knows about) it falls back to `mvn dependency:copy`.

`spark_jars()` is what the session builder puts on `spark.jars`; it raises a clear error while the folder
is empty.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

DELTA_VERSION = "4.4.0"
SCALA = "2.13"
ROOT = Path(__file__).resolve().parent.parent
JARS_DIR = ROOT / ".cache" / "jars"
IVY_DIR = ROOT / ".cache" / "ivy"
PACKAGES = (f"io.delta:delta-spark_{SCALA}:{DELTA_VERSION}", f"io.delta:delta-storage:{DELTA_VERSION}")
# what mvn copies when Ivy is not available: delta's own jars plus the few dependencies Spark lacks
MVN_ARTIFACTS = PACKAGES + (
    f"io.delta:delta-kernel-api:{DELTA_VERSION}", f"io.delta:delta-kernel-defaults:{DELTA_VERSION}",
    f"io.delta:delta-kernel-unitycatalog:{DELTA_VERSION}", "io.unitycatalog:unitycatalog-client:0.6.0",
    "io.unitycatalog:unitycatalog-hadoop:0.6.0", "com.fasterxml.jackson.datatype:jackson-datatype-jdk8:2.13.5",
    "javax.annotation:javax.annotation-api:1.3.2", "commons-logging:commons-logging:1.3.0",
)

_VERSION_SUFFIX = re.compile(r"-\d[\w.]*(-\d+)?$")


def spark_jars_dir() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "jars"


def artifact_name(jar: Path) -> str:
    """`org.apache.parquet_parquet-hadoop-1.16.0.jar` -> `parquet-hadoop` (Ivy's org_ prefix dropped)."""
    _org, _, rest = jar.stem.partition("_")
    stem = rest if rest and not rest[0].isdigit() else jar.stem     # keep Scala suffixes like `_2.13`
    return _VERSION_SUFFIX.sub("", stem)


def spark_jars() -> list[str]:
    """Jar paths for `spark.jars`; raises FileNotFoundError when setup has not fetched them."""
    jars = sorted(JARS_DIR.glob("*.jar"))
    if not any(j.name.startswith(("delta-spark", "io.delta_delta-spark")) for j in jars):
        raise FileNotFoundError(f"Delta jars missing in {JARS_DIR}: run `python -m jobs.delta_jars` "
                                "(or scripts/setup.sh) once while Maven Central is reachable")
    return [str(j) for j in jars]


def _copy_missing_from_spark(resolved: list[Path]) -> list[Path]:
    have = {artifact_name(j) for j in spark_jars_dir().glob("*.jar")}
    JARS_DIR.mkdir(parents=True, exist_ok=True)
    copied = []
    for jar in resolved:
        if artifact_name(jar) in have or artifact_name(jar) == "shims":   # shims only serve RoaringBitmap 0.9
            continue
        target = JARS_DIR / jar.name
        if not target.exists():
            shutil.copy2(jar, target)
        copied.append(target)
    return copied


_IVY_SCRIPT = """
from pyspark.sql import SparkSession
s = (SparkSession.builder.master("local[1]").appName("delta-jars")
     .config("spark.jars.packages", {packages!r}).config("spark.jars.ivy", {ivy!r})
     .config("spark.ui.enabled", "false").getOrCreate())
s.stop()
"""


def fetch_with_ivy(quiet: bool = True) -> list[Path]:
    """Resolve with Spark's Ivy (a throwaway local session); returns the resolved jars."""
    code = _IVY_SCRIPT.format(packages=",".join(PACKAGES), ivy=str(IVY_DIR))
    out = subprocess.run([sys.executable, "-c", code], capture_output=quiet, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"Ivy resolution failed:\n{(out.stderr or '')[-2000:]}")
    return sorted((IVY_DIR / "jars").glob("*.jar"))


def fetch_with_maven(quiet: bool = True) -> list[Path]:
    """`mvn dependency:copy` of each artifact into .cache/mvn (no transitive resolution needed)."""
    dest = ROOT / ".cache" / "mvn"
    for coord in MVN_ARTIFACTS:
        cmd = ["mvn", "-q" if quiet else "-B", "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy",
               f"-Dartifact={coord}", f"-DoutputDirectory={dest}"]
        subprocess.run(cmd, check=True, capture_output=quiet, timeout=900)
    return sorted(dest.glob("*.jar"))


def ensure_jars(quiet: bool = True) -> list[Path]:
    """Idempotent: returns the jars in .cache/jars, fetching them first when missing."""
    try:
        return [Path(p) for p in spark_jars()]
    except FileNotFoundError:
        pass
    try:
        resolved = fetch_with_ivy(quiet)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"[delta_jars] Ivy route failed ({str(exc).splitlines()[0]}); trying mvn", file=sys.stderr)
        resolved = fetch_with_maven(quiet)
    _copy_missing_from_spark(resolved)
    return [Path(p) for p in spark_jars()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    jars = ensure_jars(quiet=args.quiet)
    if not args.quiet:
        print("\n".join(str(j) for j in jars))
    print(f"[delta_jars] {len(jars)} jars in {JARS_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
