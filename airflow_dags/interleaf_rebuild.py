"""Airflow DAG: rebuild the interleaf corpus of one Common Crawl crawl, weekly by default.

    plan → extract → fetch_images → image_ocr → dedup → score_clip → write_shards → write_pairs
         → render_ocr → validate

One ``SparkSubmitOperator`` per job of ``jobs/`` in the order of ``pipeline.run.run_all``,
submitted with the artefact of ``interleaf package --dist DIR`` (``DIR/interleaf.zip`` as
``--py-files``, ``DIR/jobs/*.py`` as applications) to the master of the Spark connection
``params.spark_conn_id`` (a connection of type ``spark`` whose host is ``yarn``, ``local[4]``,
``spark://HOST:7077`` or ``k8s://https://HOST:443``).

``plan`` resolves the pipeline config (``params.config`` file + ``params.sets`` overrides) and
keeps the selected stages (``params.stages``) that the config enables, as ``run_all`` does
(fetch_images only with ``images.enabled``, image_ocr with ``image_ocr.enabled``, dedup with
``dedup.enabled``, score_clip and write_pairs with ``clip.enabled``, render_ocr with
``ocr.enabled``); the other stage tasks raise ``AirflowSkipException``. Reruns are idempotent:
every job skips a stage whose folder is finished (``_SUCCESS``) with the same config, and
resumes an interrupted one, so a retry or a cleared task simply submits the job again.
``validate`` checks the run's accounting (in = out + dropped for every stage of
``OUT/run_manifest.json``) and the sha256 of every shard listed in ``OUT/shards/*/manifest.json``.

This file imports only Airflow at module level: pyspark, torch and ``pipeline`` are imported
inside the task callables (and the Spark work happens in spark-submit's own processes).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

try:  # Airflow 3
    from airflow.sdk import DAG, Param, task
    from airflow.sdk.exceptions import AirflowSkipException
except ImportError:  # Airflow 2.x
    from airflow import DAG
    from airflow.decorators import task
    from airflow.exceptions import AirflowSkipException
    from airflow.models.param import Param
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

DAG_ID = "interleaf_rebuild"
# (stage name as in `interleaf STAGE`, task id, entry script in DIST/jobs/, config flag enabling it)
STAGES: tuple[tuple[str, str, str, str | None], ...] = (
    ("extract", "extract", "extract_documents.py", None),
    ("fetch-images", "fetch_images", "fetch_images.py", "images.enabled"),
    ("image-ocr", "image_ocr", "image_ocr.py", "image_ocr.enabled"),
    ("dedup", "dedup", "dedup_documents.py", "dedup.enabled"),
    ("score-clip", "score_clip", "score_clip.py", "clip.enabled"),
    ("write-shards", "write_shards", "write_shards.py", None),
    ("write-pairs", "write_pairs", "write_pairs.py", "clip.enabled"),
    ("render-ocr", "render_ocr", "render_ocr.py", "ocr.enabled"),
)
STAGE_NAMES = [s[0] for s in STAGES]

DEFAULT_PARAMS = {
    "crawl": Param("CC-MAIN-2024-22", type="string", description="Common Crawl crawl id"),
    "limit": Param(100, type=["null", "integer"], minimum=1,
                   description="only the first N WARCs of the sorted listing (--limit); null: all"),
    "output_root": Param("/shared/interleaf", type="string",
                         description="the run writes OUTPUT_ROOT/CRAWL (a filesystem every executor can write)"),
    "input": Param(None, type=["null", "string"],
                   description="input spec overriding the crawl's listing (a WARC, folder, glob, .txt, "
                               "warc.paths.gz); null: https://data.commoncrawl.org/crawl-data/CRAWL/warc.paths.gz"),
    "base_url": Param(None, type=["null", "string"], description="prefix of listing paths (--base-url)"),
    "spark_conn_id": Param("spark_default", type="string",
                           description="Airflow connection (type spark) giving spark-submit --master"),
    "spark_conf": Param({"spark.python.worker.reuse": "true"}, type="object",
                        description="spark-submit --conf key=value pairs for every job"),
    "spark_env": Param({}, type="object", description="environment of spark-submit (e.g. PYSPARK_PYTHON)"),
    "package_dir": Param("/opt/interleaf/dist", type="string",
                         description="folder built by `interleaf package --dist DIR`: interleaf.zip, jobs/"),
    "stages": Param(list(STAGE_NAMES), type="array", items={"type": "string", "enum": list(STAGE_NAMES)},
                    description="stages to run (those the config disables are skipped too)"),
    "config": Param(None, type=["null", "string"], description="pipeline YAML config file (--config)"),
    "sets": Param([], type="array", items={"type": "string"},
                  description="config overrides a.b=c (--set), e.g. images.download=false"),
    "force": Param(False, type="boolean", description="redo finished stages (--force)"),
}


def output_dir(params: dict[str, Any]) -> str:
    return f"{params['output_root'].rstrip('/')}/{params['crawl']}"


def input_spec(params: dict[str, Any]) -> str:
    return params.get("input") or f"https://data.commoncrawl.org/crawl-data/{params['crawl']}/warc.paths.gz"


def job_args(params: dict[str, Any], stage: str) -> list[str]:
    """The entry script's arguments (the same options as `interleaf STAGE`)."""
    args = ["--output", output_dir(params), "--no-progress"]
    if stage == "extract":
        args += ["--input", input_spec(params)]
        if params.get("limit"):
            args += ["--limit", str(params["limit"])]
        if params.get("base_url"):
            args += ["--base-url", params["base_url"]]
    if params.get("config"):
        args += ["--config", params["config"]]
    for kv in params.get("sets") or []:
        args += ["--set", kv]
    if params.get("force"):
        args.append("--force")
    return args


def _load_config(params: dict[str, Any]):
    """The resolved pipeline config: from an installed interleaf, else from the package zip."""
    try:
        from pipeline.config import load_config
    except ImportError:
        import sys

        sys.path.insert(0, f"{params['package_dir'].rstrip('/')}/interleaf.zip")
        from pipeline.config import load_config
    return load_config(params.get("config"), list(params.get("sets") or []))


def plan_stages(params: dict[str, Any]) -> list[str]:
    """The selected stages the config enables, in pipeline order (as ``run_all`` runs them)."""
    config = _load_config(params)
    selected = set(params.get("stages") or [])
    unknown = selected - set(STAGE_NAMES)
    if unknown:
        raise ValueError(f"unknown stages {sorted(unknown)}; known: {STAGE_NAMES}")
    planned = []
    for stage, _, _, flag in STAGES:
        enabled = True
        if flag:
            section, key = flag.split(".")
            enabled = bool(getattr(getattr(config, section), key))
        if stage in selected and enabled:
            planned.append(stage)
    return planned


class InterleafJob(SparkSubmitOperator):
    """spark-submit of one interleaf job, its application, py-files, conf and args from params."""

    def __init__(self, *, stage: str, script: str, **kwargs: Any) -> None:
        super().__init__(application="", name=f"interleaf-{stage}", **kwargs)
        self.stage = stage
        self.script = script

    def execute(self, context: Any) -> None:
        params = context["params"]
        planned = context["ti"].xcom_pull(task_ids="plan")
        if self.stage not in (planned or []):
            raise AirflowSkipException(f"stage {self.stage} not selected or disabled by the config")
        dist = params["package_dir"].rstrip("/")
        self.application = f"{dist}/jobs/{self.script}"
        self.py_files = f"{dist}/interleaf.zip"
        self.conf = {str(k): str(v) for k, v in (params.get("spark_conf") or {}).items()}
        self.env_vars = {str(k): str(v) for k, v in (params.get("spark_env") or {}).items()} or None
        self.application_args = job_args(params, self.stage)
        self._conn_id = params["spark_conn_id"]  # the connection is a run parameter, not fixed at parse time
        self._hook = None
        super().execute(context)


def validate_run(output: str) -> dict[str, Any]:
    """Accounting of every stage balances; every shard of every shards/*/manifest.json is intact."""
    import hashlib
    import json
    from pathlib import Path

    def sha256(path: Path) -> str:
        h = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()

    out = Path(output)
    problems: list[str] = []
    run_manifest = json.loads((out / "run_manifest.json").read_text())
    for name, s in run_manifest["stages"].items():
        dropped = sum(s.get("dropped", {}).values())
        if s["in"] != s["out"] + dropped:
            problems.append(f"stage {name}: in {s['in']} != out {s['out']} + dropped {dropped}")
    layouts: dict[str, dict[str, int]] = {}
    for manifest_path in sorted(out.glob("shards/*/manifest.json")):
        folder = manifest_path.parent
        manifest = json.loads(manifest_path.read_text())
        if not (folder / "_SUCCESS").exists():
            problems.append(f"{folder}: no _SUCCESS")
        samples = 0
        for shard in manifest["shards"]:
            for key, digest_key in (("name", "sha256"), ("sidecar", "sidecar_sha256")):
                if not shard.get(key):
                    continue
                path = folder / shard[key]
                if not path.is_file():
                    problems.append(f"{path}: missing")
                elif sha256(path) != shard[digest_key]:
                    problems.append(f"{path}: sha256 differs from the manifest")
            samples += shard.get("samples", 0)
        if samples != manifest.get("num_samples", samples):
            problems.append(f"{manifest_path}: shards hold {samples} samples, manifest says {manifest['num_samples']}")
        recorded = run_manifest.get("shards", {}).get(folder.name)
        if recorded and recorded.get("num_samples") != manifest.get("num_samples"):
            problems.append(f"run_manifest.json: {folder.name} samples differ from {manifest_path}")
        layouts[folder.name] = {"shards": len(manifest["shards"]), "samples": samples}
    if problems:
        raise ValueError("interleaf run failed validation:\n" + "\n".join(problems))
    return {"output": str(out), "stages": sorted(run_manifest["stages"]), "layouts": layouts}


with DAG(
    dag_id=DAG_ID,
    description="Common Crawl WARCs → interleaf shards (spark-submit per stage), then validation",
    schedule="@weekly",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,  # runs of one crawl share their output folder
    params=DEFAULT_PARAMS,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=10), "retry_exponential_backoff": True},
    tags=["interleaf", "spark", "common-crawl"],
    doc_md=__doc__,
) as dag:

    @task(task_id="plan", retries=0)
    def plan(params: dict[str, Any] | None = None) -> list[str]:
        return plan_stages(params)

    @task(task_id="validate", trigger_rule="none_failed", retries=0)
    def validate(params: dict[str, Any] | None = None) -> dict[str, Any]:
        return validate_run(output_dir(params))

    previous = plan()
    for stage, task_id, script, _ in STAGES:
        job = InterleafJob(task_id=task_id, stage=stage, script=script, trigger_rule="none_failed")
        previous >> job
        previous = job
    previous >> validate()
