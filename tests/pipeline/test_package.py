"""interleaf package --dist DIR: a deterministic --py-files zip, the job scripts, a conf
template and a manifest; the zip alone is enough for spark-submit to run a job."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.package import CONF_TEMPLATE, PACKAGE_DATA, ZIP_NAME, build_package, verify_package

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("dist")
    assert main(["package", "--dist", str(folder)]) == 0
    return folder


def test_package_layout_and_manifest(dist):
    manifest = json.loads((dist / "manifest.json").read_text())
    assert manifest["version"] == "0.1.0" and manifest["py_files"] == ZIP_NAME
    assert sorted(manifest["jobs"]) == sorted(p.name for p in (REPO / "jobs").glob("*.py") if p.name != "__init__.py")
    for name in manifest["jobs"]:
        assert (dist / "jobs" / name).read_bytes() == (REPO / "jobs" / name).read_bytes()
    assert {f["path"] for f in manifest["files"]} == {ZIP_NAME, CONF_TEMPLATE, *(f"jobs/{j}" for j in manifest["jobs"])}
    assert verify_package(dist) == []
    names = zipfile.ZipFile(dist / ZIP_NAME).namelist()
    assert names == sorted(names) == [e["path"] for e in manifest["zip_entries"]]
    for required in ("pipeline/cli.py", "pipeline/__init__.py", "schemas/__init__.py", "filters/chain.py",
                     "jobs/extract_documents.py", "filters/wordlists/stopwords_en.txt",
                     "pipeline/clip/configs/interleaf-coca-tiny.json"):
        assert required in names, required
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert {i.date_time for i in zipfile.ZipFile(dist / ZIP_NAME).infolist()} == {(1980, 1, 1, 0, 0, 0)}
    conf = (dist / CONF_TEMPLATE).read_text()
    for key in ("spark.python.worker.reuse", "spark.executor.memory", "spark.executor.cores",
                "spark.executor.resource.gpu.amount", "spark.task.resource.gpu.amount",
                "spark.executor.resource.gpu.discoveryScript"):
        assert key in conf, key
    # A changed file is caught by the manifest.
    (dist / "jobs" / "run_pipeline.py").write_text("tampered\n")
    try:
        assert verify_package(dist) == ["sha256 mismatch jobs/run_pipeline.py"]
    finally:
        shutil.copy(REPO / "jobs" / "run_pipeline.py", dist / "jobs" / "run_pipeline.py")


def test_package_is_deterministic(dist, tmp_path):
    again = build_package(tmp_path / "again")
    assert (tmp_path / "again" / ZIP_NAME).read_bytes() == (dist / ZIP_NAME).read_bytes()
    assert (tmp_path / "again" / "manifest.json").read_bytes() == (dist / "manifest.json").read_bytes()
    assert again["files"] == json.loads((dist / "manifest.json").read_text())["files"]


def test_package_data_matches_pyproject():
    data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert {k: tuple(v) for k, v in data.items()} == PACKAGE_DATA


def test_package_data_is_read_from_a_zip(dist, tmp_path):
    """pipeline.resources extracts a zipped package's data folder (what executors see)."""
    code = ("import filters.wordlists as w, pipeline.clip.model as m, pipeline; "
            "print(pipeline.__file__); print(w.SHIPPED); print(m.CONFIGS_DIR); "
            "print(len(w.load_terms(str(w.list_path('stopwords_en')))))")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["INTERLEAF_RESOURCE_CACHE"] = str(tmp_path / "cache")
    python = _python_without_interleaf(tmp_path)
    proc = subprocess.run([python, "-c", code], env={**env, "PYTHONPATH": str(dist / ZIP_NAME)},
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    module_file, shipped, configs, n_terms = proc.stdout.split()
    assert module_file == str(dist / ZIP_NAME / "pipeline" / "__init__.py")
    assert shipped.startswith(str(tmp_path / "cache")) and configs.startswith(str(tmp_path / "cache"))
    assert (Path(configs) / "interleaf-coca-tiny.json").is_file() and int(n_terms) > 50


def _python_without_interleaf(tmp_path: Path) -> str:
    """An interpreter with the dev venv's third-party packages but not interleaf.

    The dev venv installs interleaf editable (a .pth finder mapping pipeline → the repo), so
    its python imports the repo whatever --py-files says. A bare venv (no pip, < 1 s) whose
    one .pth line appends the dev venv's site-packages folder sees pyspark, pyarrow ... as
    plain sys.path entries: .pth files found there (the editable finder) are not executed, so
    ``import pipeline`` works only from a zip on the path.
    """
    venv = tmp_path / "bare-venv"
    if not venv.exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
        purelib = subprocess.run([str(venv / "bin" / "python"), "-c",
                                  "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        Path(purelib, "dev-venv-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return str(venv / "bin" / "python")


@pytest.mark.spark
def test_spark_submit_runs_from_the_zip(dist, tmp_path, demo_warc):
    """spark-submit with only DIST (zip + job script) extracts the demo WARC, outside the repo.

    How this proves the zip is used: driver and Python workers run an interpreter that has
    every dependency but cannot import interleaf (checked first: ``import pipeline`` fails),
    with PYTHONPATH unset and the working directory outside the repository. The job can then
    only import pipeline, filters and schemas from ``--py-files interleaf.zip``; the word lists
    the extract filters read are extracted from the zip into INTERLEAF_RESOURCE_CACHE by the
    Python workers, which the test finds there afterwards.
    """
    python = _python_without_interleaf(tmp_path)
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SPARK_HOME")}
    env.update(PYSPARK_PYTHON=python, PYSPARK_DRIVER_PYTHON=python,
               INTERLEAF_RESOURCE_CACHE=str(tmp_path / "cache"), SPARK_LOCAL_IP="127.0.0.1")
    probe = subprocess.run([python, "-c", "import pipeline"], env=env, cwd=workdir, capture_output=True, text=True)
    assert probe.returncode != 0 and "No module named 'pipeline'" in probe.stderr
    spark_submit = str(Path(sys.executable).parent / "spark-submit")
    out = tmp_path / "out"
    proc = subprocess.run(
        [spark_submit, "--master", "local[2]", "--properties-file", str(dist / CONF_TEMPLATE),
         "--conf", "spark.driver.memory=1g", "--py-files", str(dist / ZIP_NAME), str(dist / "jobs" / "extract_documents.py"),
         "--input", str(demo_warc), "--output", str(out), "--no-progress"],
        env=env, cwd=workdir, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert (out / "pages" / "_SUCCESS").exists()
    pages = json.loads((out / "pages" / "_manifest.json").read_text())
    assert [p["rows"] for p in pages["parts"]] == [5]
    run_manifest = json.loads((out / "run_manifest.json").read_text())
    extract = run_manifest["stages"]["extract"]
    assert extract["in"] == 26 and extract["in"] == extract["out"] + sum(extract["dropped"].values())
    assert list((tmp_path / "cache").glob("interleaf-package-data/*/filters/wordlists/stopwords_en.txt"))
    assert not list(workdir.iterdir()) or all(p.name in ("spark-warehouse", "metastore_db") for p in workdir.iterdir())
