"""``interleaf package --dist DIR``: what spark-submit needs to run the jobs on a cluster.

    DIR/interleaf.zip                 --py-files: packages schemas, pipeline, filters, jobs with their
                                      package data (filters/wordlists/*.txt, pipeline/clip/configs/*.json)
    DIR/jobs/*.py                     the entry scripts (extract_documents.py ... run_pipeline.py)
    DIR/spark-defaults.conf.template  documented Spark confs (--properties-file, or spark-defaults.conf)
    DIR/manifest.json                 version, every file of DIR and every zip entry with sha256

The zip is deterministic: entries sorted, fixed timestamps and permissions, fixed compression,
so the same source tree gives the same bytes (and sha256) on every machine. Executors import
the code from the zip (zipimport); package data is read through ``pipeline.resources``, which
extracts it to a temp dir when the package lives in a zip. Third-party dependencies are not in
the zip: executors need them installed, or a packed virtualenv shipped with ``--archives``
(README, "Packaging for a cluster").
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

ZIP_NAME = "interleaf.zip"
CONF_TEMPLATE = "spark-defaults.conf.template"
MANIFEST = "manifest.json"
PACKAGES = ("schemas", "pipeline", "filters", "jobs")
# Mirrors [tool.setuptools.package-data] in pyproject.toml (a test keeps them equal).
PACKAGE_DATA = {"filters": ("wordlists/*.txt",), "pipeline.clip": ("configs/*.json",)}
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip can hold: no build time in the bytes
FORMAT_VERSION = 1

CONF_TEMPLATE_TEXT = """\
# interleaf: Spark settings for the jobs in jobs/ (written by `interleaf package`).
# Use as spark-submit --properties-file DIST/spark-defaults.conf.template, or copy the lines
# you need into $SPARK_HOME/conf/spark-defaults.conf. Values are starting points for a
# cluster of 8-16 core / 32-64 GiB executors; local[N] runs ignore the executor settings.

# CLIP scoring loads the model once per Python worker: keep workers alive between tasks.
spark.python.worker.reuse                       true

# One Spark task processes one WARC (extract) or one shard group (write-shards): parallelism
# is the number of executor cores. Extraction holds one WARC's records and images in memory.
spark.executor.cores                            4
spark.executor.memory                           8g
# Python workers live outside the JVM heap: give them room (pyarrow, Pillow, rapidocr).
spark.executor.memoryOverhead                   4g
spark.task.cpus                                 1
spark.driver.memory                             4g

# A task that fails (lost executor, network error) is retried; outputs are renamed into place,
# so a retried task never leaves a partial part.
spark.task.maxFailures                          4
spark.ui.showConsoleProgress                    false

# --- GPU executors for jobs/score_clip.py only (uncomment for that submission) ------------
# Each scoring task gets one GPU and runs the model there in bf16/fp16 (clip.device=auto).
# spark.executor.resource.gpu.amount              1
# spark.task.resource.gpu.amount                  1
# spark.executor.resource.gpu.discoveryScript     /opt/spark/scripts/getGpusResources.sh
# Kubernetes: spark.executor.resource.gpu.vendor  nvidia.com
# One scoring task per GPU: tasks need all of the executor's cores when one GPU is shared.
# spark.task.cpus                                 4

# --- A packed virtualenv instead of dependencies installed on every node (YARN, k8s) -------
# spark-submit --archives interleaf-venv.tar.gz#venv ...
# spark.pyspark.python                            ./venv/bin/python
# spark.pyspark.driver.python                     ./venv/bin/python
"""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def source_root() -> Path:
    """The folder holding the packages (the repository, or site-packages of an install)."""
    import pipeline

    root = Path(pipeline.__file__).resolve().parent.parent
    missing = [p for p in PACKAGES if not (root / p / "__init__.py").is_file()]
    if missing:
        raise FileNotFoundError(f"cannot package: {', '.join(missing)} not found beside {root / 'pipeline'} "
                                "(run from a source checkout or an installed interleaf, not from a zip)")
    return root


def collect_files(root: Path) -> list[tuple[str, Path]]:
    """(archive name, file) of every module and package-data file, sorted by archive name."""
    found: dict[str, Path] = {}
    for top in PACKAGES:
        for path in (root / top).rglob("*.py"):
            rel = path.relative_to(root)
            if "__pycache__" in rel.parts or not (path.parent / "__init__.py").is_file():
                continue
            found[rel.as_posix()] = path
    for package, patterns in PACKAGE_DATA.items():
        base = root / package.replace(".", "/")
        for path in base.rglob("*"):
            rel_in_package = path.relative_to(base).as_posix()
            if path.is_file() and any(fnmatch.fnmatch(rel_in_package, pat) for pat in patterns):
                found[path.relative_to(root).as_posix()] = path
    return sorted(found.items())


def build_zip(files: list[tuple[str, Path]], dest: Path) -> list[dict[str, Any]]:
    """Write a deterministic zip of ``files``; returns its entries with sha256 and size."""
    entries = []
    tmp = dest.with_name(dest.name + ".tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        for name, path in files:
            data = path.read_bytes()
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100644 << 16)  # regular file, rw-r--r--
            info.create_system = 3  # unix, whatever the build machine
            zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
            entries.append({"path": name, "sha256": _sha256(data), "bytes": len(data)})
    os.replace(tmp, dest)
    return entries


def build_package(dist: str | Path, root: str | Path | None = None) -> dict[str, Any]:
    """Build DIR/interleaf.zip, DIR/jobs/, the conf template and DIR/manifest.json."""
    import pipeline

    root = Path(root) if root else source_root()
    dist = Path(dist)
    dist.mkdir(parents=True, exist_ok=True)
    files = collect_files(root)
    if not any(name == "pipeline/cli.py" for name, _ in files):
        raise FileNotFoundError(f"no pipeline/cli.py under {root}")
    entries = build_zip(files, dist / ZIP_NAME)

    jobs_out = dist / "jobs"
    if jobs_out.exists():
        shutil.rmtree(jobs_out)  # no stale entry script of a removed job
    jobs_out.mkdir()
    for path in sorted((root / "jobs").glob("*.py")):
        if path.name != "__init__.py":
            (jobs_out / path.name).write_bytes(path.read_bytes())
    (dist / CONF_TEMPLATE).write_text(CONF_TEMPLATE_TEXT, encoding="utf-8")

    written = [dist / ZIP_NAME, dist / CONF_TEMPLATE, *sorted(jobs_out.glob("*.py"))]
    manifest = {
        "name": "interleaf",
        "version": pipeline.__version__,
        "format": FORMAT_VERSION,
        "py_files": ZIP_NAME,
        "jobs": [p.name for p in sorted(jobs_out.glob("*.py"))],
        "conf_template": CONF_TEMPLATE,
        "files": [{"path": p.relative_to(dist).as_posix(), "sha256": _sha256(p.read_bytes()),
                   "bytes": p.stat().st_size} for p in sorted(written, key=lambda p: p.relative_to(dist).as_posix())],
        "zip_entries": entries,
    }
    tmp = dist / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, dist / MANIFEST)
    return manifest


def verify_package(dist: str | Path) -> list[str]:
    """Problems of a built DIR against its manifest (empty: every file is there and intact)."""
    dist = Path(dist)
    manifest = json.loads((dist / MANIFEST).read_text(encoding="utf-8"))
    problems = []
    for f in manifest["files"]:
        path = dist / f["path"]
        if not path.is_file():
            problems.append(f"missing {f['path']}")
        elif _sha256(path.read_bytes()) != f["sha256"]:
            problems.append(f"sha256 mismatch {f['path']}")
    return problems
