"""airflow_dags/interleaf_rebuild.py: parses cleanly, tasks in run_all's order, light to import,
and dag.test() with spark-submit on local[2] gives the shards `interleaf run` gives.

Airflow runs in subprocesses with AIRFLOW_HOME in a temp dir (sqlite), so its global
configuration never touches the pytest process or ~/airflow.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "airflow_dags"
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(importlib.util.find_spec("airflow") is None,
                                reason="apache-airflow not installed (pip install -e '.[test]')")

ORDER = ["plan", "extract", "fetch_images", "image_ocr", "dedup", "score_clip", "write_shards", "write_pairs",
         "render_ocr", "validate"]


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("airflow-home")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__DAGS_FOLDER=str(DAGS), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__CORE__UNIT_TEST_MODE="False", PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
               PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1",
               # The Spark connection of the test runs: type spark, host local[2] → --master local[2]
               # (SparkSubmitHook takes a spark connection's host as the master when it has no port).
               AIRFLOW_CONN_SPARK_LOCAL=json.dumps({"conn_type": "spark", "host": "local[2]"}))
    return env


def _python(code: str, env: dict[str, str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-5000:])
    return proc


STRUCTURE = """
import inspect, json, sys
try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:
    from airflow.models.dagbag import DagBag
kwargs = {"include_examples": False} if "include_examples" in inspect.signature(DagBag).parameters else {}
bag = DagBag(dag_folder=sys.argv[1], **kwargs)
dag = bag.dags["interleaf_rebuild"]
import interleaf_rebuild as m
params = {k: v.value for k, v in m.DEFAULT_PARAMS.items()}
print(json.dumps({
    "errors": {str(k): str(v) for k, v in bag.import_errors.items()},
    "dags": sorted(bag.dag_ids),
    "tasks": {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks},
    "trigger_rules": {t.task_id: str(getattr(t.trigger_rule, "value", t.trigger_rule)) for t in dag.tasks},
    "retries": {t.task_id: t.retries for t in dag.tasks},
    "schedule": str(getattr(dag, "timetable_summary", None) or dag.schedule),
    "params": sorted(dag.params.keys()),
    "plan_default": m.plan_stages(params),
    "plan_clip_no_ocr": m.plan_stages({**params, "sets": ["clip.enabled=true", "ocr.enabled=false"]}),
    "plan_subset": m.plan_stages({**params, "stages": ["extract", "write-shards", "score-clip"]}),
    "args_extract": m.job_args({**params, "sets": ["images.download=false"]}, "extract"),
    "args_dedup": m.job_args({**params, "limit": 5, "force": True}, "dedup"),
}))
"""


def test_dag_parses_with_tasks_in_pipeline_order(airflow_env, tmp_path):
    out = json.loads(_structure(airflow_env, tmp_path))
    assert out["errors"] == {} and out["dags"] == ["interleaf_rebuild"]
    tasks = out["tasks"]
    assert sorted(tasks) == sorted(ORDER)
    for upstream, downstream in zip(ORDER, ORDER[1:]):  # one chain, in run_all's order
        assert tasks[upstream] == [downstream], upstream
    assert tasks["validate"] == []
    assert all(out["trigger_rules"][t] == "none_failed" for t in ORDER[1:])  # skipped stages don't block
    assert all(out["retries"][t] == 2 for t in ORDER[1:-1])
    assert "weekly" in out["schedule"].lower() or out["schedule"] == "0 0 * * 0"
    assert {"crawl", "limit", "output_root", "input", "spark_conn_id", "spark_conf", "package_dir", "stages",
            "sets", "config"} <= set(out["params"])
    assert out["plan_default"] == ["extract", "fetch-images", "dedup", "write-shards", "render-ocr"]
    assert out["plan_clip_no_ocr"] == ["extract", "fetch-images", "dedup", "score-clip", "write-shards",
                                       "write-pairs"]
    assert out["plan_subset"] == ["extract", "write-shards"]  # score-clip selected but clip disabled
    assert out["args_extract"] == [
        "--output", "/shared/interleaf/CC-MAIN-2024-22", "--no-progress", "--input",
        "https://data.commoncrawl.org/crawl-data/CC-MAIN-2024-22/warc.paths.gz", "--limit", "100",
        "--set", "images.download=false"]
    assert out["args_dedup"] == ["--output", "/shared/interleaf/CC-MAIN-2024-22", "--no-progress", "--force"]


def _structure(env: dict[str, str], cwd: Path) -> str:
    code = f"import sys; sys.path.insert(0, {str(DAGS)!r}); sys.argv = ['x', {str(DAGS)!r}]\n" + STRUCTURE
    return _python(code, env, cwd).stdout.strip().splitlines()[-1]


def test_dag_module_imports_nothing_heavy(airflow_env, tmp_path):
    code = (f"import sys; sys.path.insert(0, {str(DAGS)!r}); import interleaf_rebuild; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'pyspark', 'torch', 'pipeline', 'filters', "
            "'schemas', 'open_clip', 'pandas'}))")
    assert _python(code, airflow_env, tmp_path).stdout.strip().splitlines()[-1] == "[]"


def _manifest_digests(out: Path) -> dict[str, list[tuple[str, str, str]]]:
    digests = {}
    for path in sorted(out.glob("shards/*/manifest.json")):
        manifest = json.loads(path.read_text())
        digests[path.parent.name] = [(s["name"], s["sha256"], s.get("sidecar_sha256")) for s in manifest["shards"]]
    return digests


RUN_DAG = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
dag = DagBag(dag_folder=sys.argv[1]).dags["interleaf_rebuild"]
run = dag.test(run_conf=json.loads(sys.argv[2]))
states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
print(json.dumps({"state": str(run.state), "tasks": states}))
"""


@pytest.mark.spark
def test_dag_run_matches_interleaf_run(airflow_env, tmp_path, demo_warc):
    """dag.test(): plan, the four enabled jobs through spark-submit (local[2]) with the package
    built by `interleaf package`, skips for the disabled ones, validation; then the shards
    equal those of `interleaf run` on the same input and config (sha256 for sha256)."""
    from pipeline.package import build_package

    dist = tmp_path / "dist"
    build_package(dist)
    sets = ["images.download=false", "ocr.enabled=false"]
    conf = {"crawl": "demo", "output_root": str(tmp_path / "airflow"), "input": str(demo_warc), "limit": None,
            "spark_conn_id": "spark_local", "package_dir": str(dist), "sets": sets,
            "spark_conf": {"spark.python.worker.reuse": "true", "spark.driver.memory": "1g"}}
    subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=airflow_env, cwd=tmp_path, check=True,
                   capture_output=True, timeout=300)
    proc = subprocess.run([sys.executable, "-c", RUN_DAG, str(DAGS), json.dumps(conf)], env=airflow_env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-5000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "success" in result["state"], (result, proc.stderr[-5000:])
    ran = {t for t, s in result["tasks"].items() if s.endswith("success")}
    skipped = {t for t, s in result["tasks"].items() if s.endswith("skipped")}
    assert ran == {"plan", "extract", "fetch_images", "dedup", "write_shards", "validate"}
    assert skipped == {"image_ocr", "score_clip", "write_pairs", "render_ocr"}
    assert "--py-files " + str(dist / "interleaf.zip") in proc.stderr + proc.stdout
    dag_out = tmp_path / "airflow" / "demo"

    cli_out = tmp_path / "cli"
    cli = subprocess.run([str(BIN / "interleaf"), "run", "--input", str(demo_warc), "--output", str(cli_out),
                          "--master", "local[2]", "--no-progress", *[a for kv in sets for a in ("--set", kv)]],
                         env=airflow_env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert cli.returncode == 0, cli.stderr[-5000:]
    assert _manifest_digests(dag_out) == _manifest_digests(cli_out) != {}
    dag_run, cli_run = (json.loads((o / "run_manifest.json").read_text()) for o in (dag_out, cli_out))
    assert dag_run["stages"] == cli_run["stages"] and dag_run["shards"] == cli_run["shards"]
    assert dag_run["shards"]["interleaved"]["num_samples"] == 3
