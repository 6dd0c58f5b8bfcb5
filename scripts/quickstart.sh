#!/usr/bin/env bash
# The README's first command (after setup): bundled sample archive -> nightly Spark job -> a query.
#   1. builds samples/archive with our generator when it is missing (REFRESH_SAMPLES=1 rebuilds it)
#   2. registers the shipped weights in the local MLflow registry (idempotent; sets alias `champion`)
#   3. runs the nightly job on the archive into ./lake (a rerun processes nothing new)
#   4. prints query results (DuckDB over delta-rs)
set -euo pipefail
cd "$(dirname "$0")/.."
export PYSPARK_PYTHON="$PWD/.venv/bin/python"
PY=.venv/bin/python
LAKE=${LAKEOCR_LAKE:-$PWD/lake}

if [ ! -d samples/archive ] || [ "${REFRESH_SAMPLES:-0}" = "1" ]; then
  nice -n 10 "$PY" -m jobs.samples --out samples
fi
if [ ! -f models/weights/detector.pt ]; then
  echo "no shipped weights in models/weights/ (detector.pt missing): train them first, see README" >&2
  exit 1
fi
"$PY" -m jobs.cli registry bootstrap models/weights
nice -n 10 "$PY" -m jobs.cli nightly --source samples/archive --lake "$LAKE"

echo; echo "== documents by status, latest model version =="
"$PY" -m jobs.cli query --lake "$LAKE" \
  "SELECT status, coalesce(error_class, '') AS error_class, count(*) AS documents, sum(n_pages) AS pages
   FROM documents WHERE model_version = (SELECT model_version FROM runs WHERE status = 'ok' ORDER BY started_at DESC LIMIT 1)
   GROUP BY ALL ORDER BY ALL"
echo; echo "== receipts: amounts read (MONEY entities), largest first =="
"$PY" -m jobs.cli query --lake "$LAKE" \
  "SELECT regexp_extract(d.path, '[^/]+$') AS file, count(*) AS amounts,
          max(try_cast(split_part(e.value, ' ', 1) AS DOUBLE)) AS largest
   FROM entities e JOIN documents d USING (doc_id, model_version)
   WHERE e.label = 'MONEY' AND d.path LIKE '%receipt%'
   GROUP BY 1 ORDER BY largest DESC NULLS LAST LIMIT 8"
