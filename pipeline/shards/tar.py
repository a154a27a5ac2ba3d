"""Deterministic WebDataset tar writing, rotated by sample count and bytes, and reading back.

Same samples in the same order → byte-identical tars: fixed mtime, owner and mode, members
of a sample in a fixed order, no PAX timestamps. ``read_samples`` streams a tar (any fsspec
URL) sample by sample, as WebDataset groups members.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

TAR_BLOCK = 512


@dataclass
class ShardInfo:
    name: str  # file name of the tar
    samples: int = 0
    bytes: int = 0
    sha256: str = ""
    keys: list[str] = field(default_factory=list)


def read_samples(url: str | Path) -> Iterator[tuple[str, dict[str, bytes]]]:
    """(key, {extension: bytes}) per sample of a tar, in tar order, one sample in memory.

    WebDataset's rule: a sample's members are adjacent and share the name up to the first dot
    of the base name (``doc.0.jpg`` → key ``doc``, extension ``0.jpg``). ``url`` is a path or
    any fsspec URL; the tar is read as a stream (no seeks), so remote shards are not copied.
    """
    import fsspec

    key: str | None = None
    members: dict[str, bytes] = {}
    with fsspec.open(str(url), "rb") as raw, tarfile.open(fileobj=raw, mode="r|*") as tar:
        for info in tar:
            if not info.isfile():
                continue
            prefix, _, base = info.name.rpartition("/")
            stem, _, ext = base.partition(".")
            name = f"{prefix}/{stem}" if prefix else stem
            if name != key:
                if key is not None:
                    yield key, members
                key, members = name, {}
            f = tar.extractfile(info)
            members[ext] = f.read() if f is not None else b""
    if key is not None:
        yield key, members


def tar_member(name: str, data: bytes) -> tuple[tarfile.TarInfo, io.BytesIO]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info, io.BytesIO(data)


def sample_tar_size(files: list[tuple[str, bytes]]) -> int:
    """Bytes a sample takes in a tar: a header block per member plus padded data."""
    return sum(TAR_BLOCK + -(-len(data) // TAR_BLOCK) * TAR_BLOCK for _, data in files)


def validate_key(key: str) -> None:
    # WebDataset splits member names at the first dot: a key must not contain one.
    if not key or "." in key or "/" in key:
        raise ValueError(f"invalid sample key {key!r}: must be non-empty without '.' or '/'")


class ShardWriter:
    """Writes samples into ``{prefix}{n:05d}.tar`` files in ``folder``, rotating by limits."""

    def __init__(self, folder: str | Path, prefix: str, max_samples: int, max_bytes: int) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.prefix, self.max_samples, self.max_bytes = prefix, max_samples, max_bytes
        self.shards: list[ShardInfo] = []
        self._tar: tarfile.TarFile | None = None
        self._hash = None
        self._file = None

    def _open(self) -> None:
        info = ShardInfo(name=f"{self.prefix}{len(self.shards):05d}.tar")
        self.shards.append(info)
        self._file = open(self.folder / info.name, "wb")
        self._tar = tarfile.open(fileobj=self._file, mode="w", format=tarfile.GNU_FORMAT)

    def _close(self) -> None:
        if self._tar is None:
            return
        self._tar.close()
        self._file.close()
        info = self.shards[-1]
        data = (self.folder / info.name).read_bytes()
        info.bytes, info.sha256 = len(data), hashlib.sha256(data).hexdigest()
        self._tar = self._file = None

    def write(self, key: str, files: list[tuple[str, bytes]]) -> str:
        """Add one sample (member suffixes like ``json``, ``0.jpg``); returns the shard name."""
        validate_key(key)
        size = sample_tar_size(files)
        current = self.shards[-1] if self._tar is not None else None
        if current is None or current.samples >= self.max_samples or (
            current.samples > 0 and current.bytes + size > self.max_bytes
        ):
            self._close()
            self._open()
            current = self.shards[-1]
        for suffix, data in files:
            info, stream = tar_member(f"{key}.{suffix}", data)
            self._tar.addfile(info, stream)
        current.samples += 1
        current.bytes += size  # running estimate; exact size set on close
        current.keys.append(key)
        return current.name

    def close(self) -> list[ShardInfo]:
        self._close()
        return self.shards
