"""``interleaf train``: open_clip_train on the pair shards, with our record of the run.

The trainer is open_clip's own (``python -m open_clip_train.main``, or torchrun for several
GPUs; through pipeline.train.launch, which seeds its sample shuffle), run as a subprocess: its output is streamed to our log and to ``trainer.log``, its
exit code checked. Around it we add what a pipeline stage has: input checks (the pairs
folder must be finished and hold samples), skip / resume rules, and a manifest.

OUT/train/NAME/ (open_clip_train's ``--logs OUT/train --name NAME``)::

    checkpoints/epoch_N.pt   open_clip_train's checkpoints ({"epoch", "name", "state_dict", ...})
    out.log                  open_clip_train's log (appended to on resume)
    trainer.log              everything the trainer printed, tracebacks included
    model/M/open_clip_config.json   the architecture, for --model local-dir: (bundled / file configs)
    train_config.json        the resolved options and their digest, written when a run starts
    loss.csv  loss_curve.png  train_manifest.json   written when it finishes

Rerun rules (as pipeline/outputs.py's prepare_stage, except that checkpoints are never
wiped without --force): finished with the same options → skipped; finished with other
options → OutputExistsError (``--resume latest`` continues it instead, e.g. with more
epochs); started but unfinished with the same options → resumed from its latest checkpoint;
unfinished with other options → OutputExistsError; ``--force`` wipes the run folder.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import shutil
import subprocess
import time
from collections import deque
from importlib import metadata
from pathlib import Path
from typing import Any

from pipeline.outputs import OutputExistsError, atomic_write_json, is_finished, read_json
from pipeline.train.command import ModelSpec, build_command, model_spec, write_model_dir
from pipeline.train.losses import parse_log, plot, write_csv
from pipeline.train.options import ResolvedOptions, TrainOptions, resolve

log = logging.getLogger(__name__)

MANIFEST = "train_manifest.json"
RUN_CONFIG = "train_config.json"
TRAINER_LOG = "trainer.log"
TRAINER_LOG_TAIL = 40  # lines quoted in a failure message


class TrainError(RuntimeError):
    """open_clip_train failed or left no usable result; the message quotes its last lines."""


def train_dir(output: str | Path) -> Path:
    return Path(output) / "train"


def pairs_folder(output: str | Path) -> Path:
    """The default training data: pipeline.run.pairs_dir of the same output root."""
    return Path(output) / "shards" / "pairs"


def train(options: TrainOptions) -> dict[str, Any]:
    """Train (or resume, or skip) the run ``OUT/train/NAME`` and return its manifest."""
    resolved = resolve(options)
    spec = model_spec(resolved)
    data = training_data(options)
    _check_data_fits(resolved, data)
    run_dir = train_dir(options.output) / resolved.name
    digest = resolved.digest(data["pattern"], spec.config)
    action, resume = plan_run(run_dir, digest, options)
    if action == "skip":
        log.info("train: %s is finished with the same options, skipping (--force to retrain)", run_dir)
        return {**read_json(run_dir / MANIFEST), "skipped": True}
    if action == "fresh" and options.force and run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_model_dir(run_dir, spec)
    # The previous manifest described a finished run that this invocation is changing.
    (run_dir / MANIFEST).unlink(missing_ok=True)
    atomic_write_json(run_dir / RUN_CONFIG, {"options_digest": digest, "options": resolved.to_dict(),
                                             "data": data, "model": spec.name})
    command = build_command(resolved, spec, data["pattern"], train_dir(options.output).resolve(), resume)
    log.info("train: %s", " ".join(command))
    start = time.monotonic()
    returncode, tail = run_trainer(command, run_dir)
    wall = time.monotonic() - start
    if returncode != 0:
        raise TrainError(f"open_clip_train failed (exit code {returncode}); last lines of "
                         f"{run_dir / TRAINER_LOG}:\n{tail}")
    final = run_dir / "checkpoints" / f"epoch_{resolved.epochs}.pt"
    if not final.is_file():  # e.g. its "Experiment already exists" exits with code 0
        raise TrainError(f"open_clip_train exited without writing {final}; last lines of "
                         f"{run_dir / TRAINER_LOG}:\n{tail}")
    if resolved.keep_checkpoints == "last":
        prune_checkpoints(final)
    manifest = finish_run(run_dir, resolved, spec, data, command, digest, resume, wall, final)
    log.info("train: %d steps, loss %.4f → %.4f, %s", manifest["steps"], manifest["loss"]["first"],
             manifest["loss"]["last"], final)
    return manifest


def training_data(options: TrainOptions) -> dict[str, Any]:
    """The WebDataset pattern to train on, with its sample and shard counts when known."""
    if options.train_data:
        num_samples, num_shards = dataset_size(options.train_data)
        return {"source": "train_data", "pattern": options.train_data, "num_samples": num_samples,
                "num_shards": num_shards}
    folder = pairs_folder(options.output)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} not found: write pair shards first (interleaf run or write-pairs "
                                "with --set clip.enabled=true), or give --train-data")
    if not is_finished(folder):
        raise ValueError(f"{folder} is not finished (no _SUCCESS): finish write-pairs first")
    manifest = read_json(folder / "manifest.json")
    if not manifest.get("num_samples"):
        raise ValueError(f"{folder} holds no pairs (num_samples 0): nothing to train on; lower "
                         "select.pair_min_clip_score or add input")
    return {"source": "pairs", "pattern": str((folder / manifest["url_pattern"]).resolve()),
            "num_samples": int(manifest["num_samples"]), "num_shards": int(manifest["num_shards"]),
            "manifest_sha256": hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()}


def dataset_size(pattern: str) -> tuple[int | None, int]:
    """(samples, shards) as open_clip_train counts them: sizes.json beside the first shard."""
    from braceexpand import braceexpand

    urls = [url for part in pattern.split("::") for url in braceexpand(part)]
    sizes = Path(urls[0]).parent / "sizes.json"
    if "://" in urls[0] or not sizes.is_file():
        return None, len(urls)
    counts = read_json(sizes)
    try:
        return sum(int(counts[Path(url).name]) for url in urls), len(urls)
    except KeyError:
        return None, len(urls)


def _check_data_fits(r: ResolvedOptions, data: dict[str, Any]) -> None:
    """What open_clip_train would otherwise fail on late (an assert) or silently (no step)."""
    if r.samples_per_epoch is not None:
        return  # sampled with replacement: any data size gives full epochs
    processes = r.gpus
    if data["num_shards"] is not None and data["num_shards"] < r.workers * processes:
        raise ValueError(f"{data['num_shards']} shard(s) for {r.workers} workers x {processes} process(es): "
                         "open_clip_train needs a shard per worker; lower --workers or use --samples-per-epoch")
    if data["num_samples"] is not None and data["num_samples"] < r.batch_size * processes:
        raise ValueError(f"{data['num_samples']} samples are less than one batch ({r.batch_size} x {processes}): "
                         "no training step would run; lower --batch-size or use --samples-per-epoch N "
                         "(sampling with replacement)")


def plan_run(run_dir: Path, digest: str, options: TrainOptions) -> tuple[str, str | None]:
    """("skip" | "fresh" | "continue", the trainer's --resume value). See the module docstring."""
    resume = options.resume
    if resume not in (None, "latest"):
        path = Path(resume).expanduser().resolve()
        if not path.is_file():
            raise FileNotFoundError(f"--resume checkpoint not found: {path}")
        if options.force and run_dir.resolve() in path.parents:
            raise ValueError(f"--force would delete {path} (it is inside {run_dir}); use --resume latest")
        resume = str(path)
    if options.force:
        if resume == "latest":
            raise ValueError("--force starts the run over: it cannot be combined with --resume latest")
        return "fresh", resume
    started = (run_dir / "out.log").exists() or (run_dir / RUN_CONFIG).exists()
    if not started:
        return "fresh", resume
    if resume not in (None, "latest"):
        raise OutputExistsError(f"{run_dir} already holds a run: resume from a checkpoint file into a new "
                                "--name, or add --force to replace this one")
    recorded = read_json(run_dir / RUN_CONFIG).get("options_digest") if (run_dir / RUN_CONFIG).exists() else None
    finished = (run_dir / MANIFEST).exists() and read_json(run_dir / MANIFEST).get("finished") is True
    if recorded == digest and finished:
        return "skip", None
    if recorded == digest or resume == "latest":
        return "continue", "latest"
    state = "finished" if finished else "an unfinished run"
    raise OutputExistsError(f"{run_dir} holds {state} with other options (digest {recorded}, now {digest}): "
                            "add --resume latest to continue it with these options, --force to start over, "
                            "or choose another --name")


def run_trainer(command: list[str], run_dir: Path) -> tuple[int, str]:
    """Run ``command`` in ``run_dir``, streaming its output to our log and to trainer.log.

    Returns (exit code, the last lines). The child is terminated if we are interrupted.
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # lines as they happen, not at exit
    tail: deque[str] = deque(maxlen=TRAINER_LOG_TAIL)
    with open(run_dir / TRAINER_LOG, "a", encoding="utf-8") as out:
        proc = subprocess.Popen(command, cwd=run_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, encoding="utf-8", errors="replace", bufsize=1)
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                out.write(line)
                tail.append(line.rstrip("\n"))
                log.info("open_clip_train: %s", line.rstrip("\n"))
            returncode = proc.wait()
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    return returncode, "\n".join(tail)


def prune_checkpoints(final: Path) -> None:
    """Delete every epoch checkpoint but ``final`` (the trainer's --delete-previous-checkpoint
    only removes epoch N-1, which misses checkpoints when --save-frequency > 1)."""
    for path in final.parent.glob("epoch_*.pt"):
        if path.name != final.name:
            path.unlink()


def samples_per_step(r: ResolvedOptions) -> int:
    """Global batch: batch size x processes x gradient accumulation (--accum-freq in extras)."""
    accum = 1
    args = list(r.extra_args)
    for i, arg in enumerate(args):
        if arg == "--accum-freq" and i + 1 < len(args):
            accum = int(args[i + 1])
        elif arg.startswith("--accum-freq="):
            accum = int(arg.split("=", 1)[1])
    return r.batch_size * r.gpus * accum


def finish_run(run_dir: Path, r: ResolvedOptions, spec: ModelSpec, data: dict[str, Any], command: list[str],
               digest: str, resume: str | None, wall: float, final: Path) -> dict[str, Any]:
    """loss.csv, loss_curve.png and train_manifest.json of a run the trainer finished."""
    rows = parse_log((run_dir / "out.log").read_text(encoding="utf-8", errors="replace"), samples_per_step(r))
    if not rows:
        raise TrainError(f"no training step in {run_dir / 'out.log'}: nothing was trained")
    write_csv(run_dir / "loss.csv", rows)
    plot(run_dir / "loss_curve.png", rows, f"{spec.name} · {r.name} · {data['num_samples'] or '?'} samples")
    checkpoints = [{"file": str(p.relative_to(run_dir)), "bytes": p.stat().st_size, "sha256": _sha256(p)}
                   for p in sorted((run_dir / "checkpoints").glob("*.pt"), key=_epoch_order)]
    first, last = rows[0], rows[-1]
    final = final.resolve()
    load = {"clip.model": spec.name, "clip.checkpoint": str(final)}
    if spec.config_file:
        load["clip.model_config"] = spec.config_file
    manifest = {
        "stage": "train", "finished": True, "name": r.name, "preset": r.preset,
        "options": r.to_dict(), "options_digest": digest, "resumed_from": resume,
        "command": command, "cwd": str(run_dir.resolve()),
        "data": data,
        "model": {"name": spec.name, "trainer_model": spec.trainer_model, "model_config": spec.config_file,
                  "coca": spec.is_coca if spec.is_coca is not None else "coca" in spec.name.lower()},
        "steps": last.step, "logged_steps": len(rows), "epochs": last.epoch + 1, "samples_seen": last.samples_seen,
        "loss": {"first": first.loss, "last": last.loss,
                 "first_contrastive": first.contrastive_loss, "last_contrastive": last.contrastive_loss,
                 "first_caption": first.caption_loss, "last_caption": last.caption_loss},
        "checkpoint": str(final), "checkpoints": checkpoints,
        # How the scoring job and the server load it: --set KEY=VALUE each.
        "load": load,
        "files": {"log": "out.log", "trainer_log": TRAINER_LOG, "loss_csv": "loss.csv",
                  "loss_curve": "loss_curve.png"},
        "wall_seconds": round(wall, 2),
        "versions": {"python": platform.python_version(), **{pkg: _version(pkg) for pkg in
                                                             ("torch", "open_clip_torch", "webdataset")}},
    }
    atomic_write_json(run_dir / MANIFEST, manifest)
    return manifest


def _epoch_order(path: Path) -> tuple[int, str]:
    stem = path.stem.removeprefix("epoch_")
    return (int(stem), "") if stem.isdigit() else (1 << 30, path.name)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None
