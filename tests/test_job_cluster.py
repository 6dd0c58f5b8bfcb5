"""The distributed path: a Spark standalone master and two workers, each a separate process started with
pyspark's own `bin/spark-class`, and the nightly job submitted to them from a separate driver process
(a SparkContext is one per process, so it cannot share the test session). Marked `cluster`."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import write_archive

pytestmark = [pytest.mark.spark, pytest.mark.cluster]
REPO = Path(__file__).resolve().parent.parent

DRIVER = r'''
import json, sys, time
from pyspark import cloudpickle
import tests.conftest as fakes
cloudpickle.register_pickle_by_value(fakes)
from jobs.nightly import NightlyConfig, run_nightly
from jobs.spark import SparkSettings, build_session
from jobs.tables import read_table

master, source, lake = sys.argv[1:4]
spark = build_session(SparkSettings(master=master, app_name="lakeocr-cluster-test", shuffle_partitions=2,
                                    docs_per_arrow_batch=2, extra=(("spark.executor.memory", "512m"),
                                                                   ("spark.cores.max", "2"))))
sc = spark.sparkContext
deadline = time.time() + 90
while sc._jsc.sc().getExecutorMemoryStatus().size() < 3 and time.time() < deadline:
    time.sleep(0.5)                                    # wait for both executors (+ the driver)
summary = run_nightly(spark, NightlyConfig(source=source, lake=lake, tasks=4, progress_every_s=0),
                      fakes.FakeSource(fakes.fake_ref("1")), log=lambda s: None)
out = {"n_docs": summary.n_docs, "n_pages": summary.n_pages, "n_errors": summary.n_errors,
       "executors": sc._jsc.sc().getExecutorMemoryStatus().size() - 1,
       "pages_rows": read_table(spark, lake, "pages").count()}
print("RESULT " + json.dumps(out))
spark.stop()
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spark_class() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "bin" / "spark-class"


def _start(args: list[str], log: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(["nice", "-n", "10", str(_spark_class()), *args], stdout=log.open("w"),
                            stderr=subprocess.STDOUT, env=env)


def _wait_port(port: int, timeout: float = 90.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise TimeoutError(f"nothing listens on {port} after {timeout} s")


@pytest.fixture
def standalone(tmp_path):
    """(master URL, env): a master and two 1-core workers; all three stopped afterwards."""
    env = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=sys.executable,
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
               SPARK_WORKER_DIR=str(tmp_path / "work"), SPARK_LOG_DIR=str(tmp_path / "logs"))
    port = _free_port()
    url = f"spark://127.0.0.1:{port}"
    procs = [_start(["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
                     "--webui-port", str(_free_port())], tmp_path / "master.log", env)]
    try:
        _wait_port(port)
        for i in range(2):
            procs.append(_start(["org.apache.spark.deploy.worker.Worker", url, "--cores", "1", "--memory", "1g",
                                 "--webui-port", str(_free_port()), "--work-dir", str(tmp_path / f"work{i}")],
                                tmp_path / f"worker{i}.log", env))
        yield url, env
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_nightly_job_on_a_standalone_cluster_with_two_workers(standalone, tmp_path):
    url, env = standalone
    expected = write_archive(tmp_path / "archive", n_good=4, seed=3)
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    out = subprocess.run(["nice", "-n", "10", sys.executable, str(script), url, str(tmp_path / "archive"),
                          str(tmp_path / "lake")], env=env, cwd=REPO, capture_output=True, text=True, timeout=420)
    result = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
    assert out.returncode == 0 and result, out.stderr[-3000:]
    got = json.loads(result[0][len("RESULT "):])
    assert got["executors"] == 2
    assert got["n_docs"] == len(expected) and got["n_errors"] == 2
    assert got["n_pages"] == got["pages_rows"] == sum(expected.values())
