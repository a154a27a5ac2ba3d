"""The jobs run under a real spark-submit (local[2]) exactly as on a cluster."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.spark
def test_spark_submit_extract_then_write(tmp_path, demo_warc):
    spark_submit = shutil.which("spark-submit") or str(Path(sys.executable).parent / "spark-submit")
    env_python = {"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    env = {**os.environ, **env_python}
    out = tmp_path / "out"
    for job, args in (("extract_documents.py", ["--input", str(demo_warc)]), ("fetch_images.py", []),
                      ("dedup_documents.py", []), ("write_shards.py", [])):
        proc = subprocess.run([spark_submit, "--master", "local[2]", str(REPO / "jobs" / job), *args,
                               "--output", str(out), "--no-progress"],
                              env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.loads((out / "shards" / "interleaved" / "manifest.json").read_text())
    assert manifest["num_samples"] == 3
    run_manifest = json.loads((out / "run_manifest.json").read_text())
    # Separate jobs, one account: every stage is in the run manifest.
    assert run_manifest["stages"]["extract"]["in"] == 26
    assert run_manifest["stages"]["fetch_images"]["in"] == 6
    assert run_manifest["stages"]["dedup"]["in"] == 3
    assert run_manifest["stages"]["write_interleaved"]["in"] == 5
