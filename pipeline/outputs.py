"""Output folders: atomic files, ``_SUCCESS`` markers, resolved config, skip-if-finished.

A stage folder is finished when it holds ``_SUCCESS``. Files are written to a temporary
name and renamed into place, so a reader never sees half a file and a crashed run leaves
only whole files behind (which a rerun reuses). Output must be a local or shared
filesystem path (rename is atomic there).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from pipeline.config import Config

SUCCESS = "_SUCCESS"


class OutputExistsError(RuntimeError):
    """A finished output was made with a different config; the user must choose (--force)."""


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


def is_finished(folder: str | Path) -> bool:
    return (Path(folder) / SUCCESS).exists()


def mark_finished(folder: str | Path) -> None:
    atomic_write_bytes(Path(folder) / SUCCESS, b"")


def fingerprint(paths: list[Path]) -> str:
    """What a stage was built from: a hash of its upstream stages' manifests."""
    h = hashlib.sha256()
    for path in paths:
        h.update(path.read_bytes() if path.exists() else b"-")
    return h.hexdigest()[:16]


def prepare_stage(folder: str | Path, config: Config, config_name: str,
                  sections: tuple[str, ...] | None = None, upstream: list[Path] | None = None) -> bool:
    """Get ``folder`` ready for a stage run. Returns False when the stage is already done.

    - finished with the same config and not forced: skip (False);
    - finished with another config and not forced: OutputExistsError;
    - forced: the folder is wiped;
    - unfinished with another config: wiped (its partial files are not ours to reuse);
    - unfinished with the same config and inputs: kept, so finished parts are reused (resume).

    ``sections`` are the config sections this stage's output depends on; ``upstream`` the
    manifests of the stages it reads: a finished stage whose upstream changed since (a rerun
    fetched more images, say) is rebuilt.
    """
    folder = Path(folder)
    digest = config.hash(sections)
    inputs = fingerprint(upstream or [])
    config_path = folder / config_name
    recorded = read_json(config_path) if config_path.exists() else {}
    previous = recorded.get("config_hash")
    same_inputs = recorded.get("inputs", inputs) == inputs
    if is_finished(folder) and not config.run.force:
        if previous == digest and same_inputs:
            return False
        if previous != digest:
            raise OutputExistsError(
                f"{folder} was finished with another config (hash {previous}, now {digest}); "
                "rerun with --force to replace it or choose another --output"
            )
    # Same config but newer upstream output (e.g. a rerun fetched more images): rebuild.
    if config.run.force or (previous is not None and (previous != digest or not same_inputs)):
        shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(config_path, {"config_hash": digest, "inputs": inputs, "config": config.to_dict()})
    return True
