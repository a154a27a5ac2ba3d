"""Package data as real files, also when the code runs from a zip (``spark-submit --py-files``).

``Path(__file__).parent / "wordlists"`` is a folder in a source tree or a wheel install, but
only a name inside an archive when the package is imported from ``interleaf.zip`` by
zipimport. ``package_dir`` returns the folder itself in the first case; in the second it
extracts that folder's members once per archive content into the temp dir (atomic rename, so
concurrent Python workers of one executor agree) and returns the extracted copy. Callers keep
using ``pathlib`` (open_clip wants file paths, override folders are compared as paths).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import tempfile
import zipfile
import zipimport
from pathlib import Path

CACHE_ENV = "INTERLEAF_RESOURCE_CACHE"  # where zipped package data is extracted (default: temp dir)


def package_dir(package: str, name: str) -> Path:
    """The folder ``name`` of ``package`` (e.g. ``filters``, ``wordlists``) on the filesystem."""
    module = importlib.import_module(package)
    folder = Path(module.__file__).parent / name
    loader = getattr(module.__spec__, "loader", None)
    if not isinstance(loader, zipimport.zipimporter) or folder.is_dir():
        return folder
    return _extract(Path(loader.archive), Path(module.__file__).parent, name)


def _extract(archive: Path, package_path: Path, name: str) -> Path:
    inner = package_path.relative_to(archive).as_posix()  # "filters", "pipeline/clip"
    prefix = f"{inner}/{name}/"
    with zipfile.ZipFile(archive) as zf:
        members = sorted((i for i in zf.infolist() if i.filename.startswith(prefix) and not i.is_dir()),
                         key=lambda i: i.filename)
        key = hashlib.sha256()
        for info in members:
            key.update(f"{info.filename}\0{info.CRC}\0{info.file_size}\n".encode())
        root = Path(os.environ.get(CACHE_ENV) or tempfile.gettempdir()) / "interleaf-package-data"
        target = root / key.hexdigest()[:16] / inner / name
        if target.is_dir():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
        try:
            for info in members:
                dest = staging / info.filename[len(prefix):]
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(zf.read(info))
            try:
                os.rename(staging, target)
            except OSError:  # another worker extracted the same content first
                if not target.is_dir():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target
