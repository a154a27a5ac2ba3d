"""interleaf on a real Spark standalone cluster (a master and two workers on 127.0.0.1,
started from the pyspark distribution by pipeline/cluster.py), and what it survives:

- ``interleaf run --master spark://...`` and ``spark-submit --master spark://...`` work;
- a worker killed (its JVM, executor JVM and Python workers, SIGKILL) in the middle of the
  extract job and another in the middle of the fetch job: the run finishes and its shards
  are byte-identical to a clean run's;
- the driver killed midway: nothing unfinished looks finished, and a rerun skips the
  finished stages and again gives identical shards.

Input: 6 WARCs, each the demo WARC repeated 80 times (about 4.6 MB, 1-2 s of extraction each),
so that a task is running when a worker dies. Nothing is mocked.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.cluster import StandaloneCluster
from pipeline.demo import build_demo_warc

pytestmark = pytest.mark.spark

REPO = Path(__file__).resolve().parents[2]
WARCS = 6
REPEAT = 80
SETTINGS = ["images.download=false", "ocr.enabled=false", "images.urls_per_task=1", "run.progress=false"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cluster-in")
    demo = build_demo_warc(root / "demo.warc.gz").read_bytes()
    folder = root / "warcs"
    folder.mkdir()
    for i in range(WARCS):  # gzip members concatenate into one valid WARC
        (folder / f"part-{i}.warc.gz").write_bytes(demo * REPEAT)
    return folder


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with StandaloneCluster(workers=2, cores=1, memory="2g", root=tmp_path_factory.mktemp("spark")) as c:
        yield c


@pytest.fixture(scope="module")
def clean(inputs, tmp_path_factory) -> Path:
    """The reference: the same input and settings, local engine."""
    out = tmp_path_factory.mktemp("clean") / "out"
    proc = _run_cli(["run", "--input", str(inputs), "--output", str(out), "--engine", "local",
                     *_sets(SETTINGS)], timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def _sets(settings: list[str]) -> list[str]:
    return [x for s in settings for x in ("--set", s)]


def _confs(cluster: StandaloneCluster) -> list[str]:
    return [x for k, v in cluster.conf().items() for x in ("--conf", f"{k}={v}")]


def _env() -> dict[str, str]:
    return {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
            "SPARK_LOCAL_IP": "127.0.0.1"}


def _run_cli(args: list[str], timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=_env(), cwd=REPO)


def _start_cli(args: list[str], log: Path) -> subprocess.Popen:
    with open(log, "w") as f:
        return subprocess.Popen([sys.executable, "-m", "pipeline.cli", "-v", *args], stdout=f,
                                stderr=subprocess.STDOUT, env=_env(), cwd=REPO, start_new_session=True)


def _shards(out: Path) -> list[tuple[str, str]]:
    manifest = json.loads((out / "shards" / "interleaved" / "manifest.json").read_text())
    assert manifest["num_samples"] > 0
    return [(s["name"], s["sha256"]) for s in manifest["shards"]]


def _stage_counts(out: Path) -> dict:
    stages = json.loads((out / "run_manifest.json").read_text())["stages"]
    return {name: (s["in"], s["out"], s.get("dropped")) for name, s in stages.items()}


def _wait_for(predicate, proc: subprocess.Popen, timeout: float = 600, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, "the job ended before the moment the test waits for"
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(every)


def test_interleaf_run_and_spark_submit_on_the_cluster(cluster, inputs, tmp_path, demo_warc):
    assert cluster.alive_workers() == 2
    out = tmp_path / "out"
    proc = _run_cli(["run", "--input", str(inputs / "part-0.warc.gz"), "--output", str(out),
                     "--master", cluster.master_url, *_confs(cluster), *_sets(SETTINGS)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "shards" / "interleaved" / "_SUCCESS").exists()
    apps = cluster.state()["completedapps"] + cluster.state()["activeapps"]
    assert any(a["name"] == "interleaf" or a["name"].startswith("interleaf") for a in apps), apps

    spark_submit = str(Path(sys.executable).parent / "spark-submit")
    out2 = tmp_path / "submitted"
    proc = subprocess.run([spark_submit, "--master", cluster.master_url, *_confs(cluster),
                           str(REPO / "jobs" / "extract_documents.py"), "--input", str(demo_warc),
                           "--output", str(out2), "--no-progress"],
                          capture_output=True, text=True, timeout=600, env=_env(), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((out2 / "run_manifest.json").read_text())["stages"]["extract"]["in"] == 26


def test_lost_workers_during_extract_and_fetch_change_nothing(cluster, inputs, clean, tmp_path):
    out = tmp_path / "out"
    proc = _start_cli(["run", "--input", str(inputs), "--output", str(out), "--master", cluster.master_url,
                       *_confs(cluster), *_sets(SETTINGS)], tmp_path / "driver.log")
    try:
        # Extract: one WARC done, five to go (one of them running on each worker).
        _wait_for(lambda: any((out / "pages").glob("part-*.parquet")), proc)
        assert not (out / "pages" / "_SUCCESS").exists()
        cluster.kill_worker(1)
        cluster.add_worker(2)  # a replacement joins, as a cluster manager would bring one
        # Fetch: killed as soon as the images job is under way.
        _wait_for(lambda: (out / "pages" / "_SUCCESS").exists(), proc, every=0.02)
        assert not (out / "images" / "_SUCCESS").exists()
        cluster.kill_worker(0)
        assert proc.wait(timeout=900) == 0, (tmp_path / "driver.log").read_text()[-3000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    log = (tmp_path / "driver.log").read_text()
    assert "Lost executor" in log or "lost executor" in log.lower() or "ExecutorLost" in log, log[-2000:]
    assert _shards(out) == _shards(clean)
    assert _stage_counts(out) == _stage_counts(clean)
    cluster.add_worker(3)
    cluster.wait_for_workers(2)


def _finished_folders_are_whole(out: Path) -> None:
    """A folder with _SUCCESS has every file its manifest lists; others are not finished."""
    for success in out.rglob("_SUCCESS"):
        folder = success.parent
        manifest = folder / "manifest.json"
        if manifest.exists():
            for shard in json.loads(manifest.read_text()).get("shards", []):
                assert (folder / shard["name"]).exists(), f"{folder} is finished but lacks {shard['name']}"


def test_killed_driver_resumes_with_identical_output(cluster, inputs, clean, tmp_path):
    cluster.wait_for_workers(2)
    out = tmp_path / "out"
    args = ["run", "--input", str(inputs), "--output", str(out), "--master", cluster.master_url,
            *_confs(cluster), *_sets(SETTINGS)]
    proc = _start_cli(args, tmp_path / "first.log")
    try:
        _wait_for(lambda: (out / "pages" / "_SUCCESS").exists(), proc, every=0.02)
        os.killpg(proc.pid, signal.SIGKILL)  # the driver's Python and its JVM
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert not (out / "shards" / "interleaved" / "_SUCCESS").exists()
    _finished_folders_are_whole(out)
    again = _start_cli(args, tmp_path / "second.log")
    assert again.wait(timeout=900) == 0, (tmp_path / "second.log").read_text()[-3000:]
    log = (tmp_path / "second.log").read_text()
    assert "extract: " in log and "is finished, skipping" in log
    assert _shards(out) == _shards(clean)
    _finished_folders_are_whole(out)
