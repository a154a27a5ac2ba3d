"""Where WARC files come from: input specs → sorted URIs, and opening a URI as a byte stream.

Specs accepted by :func:`resolve_inputs`: local paths, globs, directories, text files of
paths/URLs (``*.txt`` or ``@file``), Common Crawl listings (``warc.paths.gz``), http(s) URLs
and any fsspec URL (``s3://``, ``gs://``...; globs expanded through fsspec).

A spec that matches nothing is misconfiguration and raises ``ValueError`` here, on the
driver. A URI that fails later, while a worker reads it, is bad data: :func:`open_input`
raises :class:`InputError` with a reason code that the reader turns into a per-file error.

S3 endpoints (MinIO, moto, other regions) come from the standard places: the
``storage_options`` argument (passed to fsspec, e.g. ``{"endpoint_url": ...}``), or the
environment variable ``AWS_ENDPOINT_URL`` (read by botocore) / ``AWS_ENDPOINT_URL_S3``.
"""

from __future__ import annotations

import glob
import gzip
import io
import os
import posixpath
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator
from urllib.parse import urljoin, urlsplit

CC_BASE_URL = "https://data.commoncrawl.org/"
WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")
LIST_SUFFIXES = (".txt",)
CC_LISTING_SUFFIXES = (".paths", ".paths.gz")
GLOB_CHARS = frozenset("*?[")
COPY_CHUNK = 1 << 20  # bounded memory for downloads and streamed reads
HTTP_TIMEOUT = (30, 120)  # (connect, read) seconds
HTTP_HEADERS = {
    # Ask for the bytes as stored: a .warc.gz must not be re-encoded or transparently gunzipped.
    "Accept-Encoding": "identity",
    "User-Agent": "interleaf-warc-reader/0.1",
}


class InputError(OSError):
    """A URI could not be opened. ``reason`` is a short code for the per-file report."""

    def __init__(self, reason: str, uri: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {uri}" + (f" ({detail})" if detail else ""))
        self.reason = reason
        self.uri = uri
        self.detail = detail


# -- URI kinds --------------------------------------------------------------------------------


def scheme_of(uri: str) -> str:
    """URL scheme in lower case; '' for local paths (Windows drive letters are not URLs)."""
    if "://" not in uri:
        return ""
    return uri.split("://", 1)[0].lower()


def is_http(uri: str) -> bool:
    return scheme_of(uri) in ("http", "https")


def is_local(uri: str) -> bool:
    return scheme_of(uri) in ("", "file")


def local_path(uri: str) -> str:
    """The filesystem path of a local URI (``file://`` stripped)."""
    return uri[len("file://") :] if uri.lower().startswith("file://") else uri


def _has_glob(text: str) -> bool:
    return any(c in GLOB_CHARS for c in text)


def _is_warc_name(name: str) -> bool:
    return name.lower().endswith(WARC_SUFFIXES)


# -- resolve_inputs ---------------------------------------------------------------------------


def resolve_inputs(
    inputs: list[str] | str,
    base_url: str = CC_BASE_URL,
    storage_options: dict[str, Any] | None = None,
) -> list[str]:
    """Expand input specs into a sorted, de-duplicated list of WARC URIs.

    Local results are absolute paths; remote results are URLs. Raises ``ValueError`` naming
    the spec when a spec matches nothing or does not exist.
    """
    if isinstance(inputs, str):
        inputs = [inputs]
    uris: set[str] = set()
    for spec in inputs:
        uris.update(_resolve_spec(spec.strip(), base_url, storage_options))
    return sorted(uris)


def _resolve_spec(spec: str, base_url: str, storage_options: dict[str, Any] | None) -> list[str]:
    if not spec:
        raise ValueError("empty input spec")
    if spec.startswith("@"):
        return _resolve_list_file(spec[1:], base_url, storage_options)
    lower = spec.lower()
    if lower.endswith(CC_LISTING_SUFFIXES) or lower.endswith(LIST_SUFFIXES):
        return _resolve_list_file(spec, base_url, storage_options)
    if is_http(spec):
        _check_http_exists(spec)
        return [spec]
    if not is_local(spec):
        return _resolve_fsspec(spec, storage_options)
    return _resolve_local(local_path(spec), spec)


def _resolve_local(path: str, spec: str, relative_to: str | None = None) -> list[str]:
    path = os.path.expanduser(path)
    if relative_to is not None and not os.path.isabs(path):
        path = os.path.join(relative_to, path)
    if _has_glob(path):
        found = [os.path.abspath(p) for p in glob.glob(path, recursive=True) if os.path.isfile(p)]
        if not found:
            raise ValueError(f"input glob matches no files: {spec!r}")
        return found
    if os.path.isdir(path):
        found = [os.path.abspath(p) for p in _warc_files_in(path)]
        if not found:
            raise ValueError(f"input directory has no *.warc/*.warc.gz/*.arc/*.arc.gz: {spec!r}")
        return found
    if os.path.isfile(path):
        return [os.path.abspath(path)]
    raise ValueError(f"input does not exist: {spec!r}")


def _warc_files_in(directory: str) -> list[str]:
    return [
        os.path.join(directory, name)
        for name in os.listdir(directory)
        if _is_warc_name(name) and os.path.isfile(os.path.join(directory, name))
    ]


def _fs_and_path(uri: str, storage_options: dict[str, Any] | None) -> tuple[Any, str]:
    import fsspec.core

    return fsspec.core.url_to_fs(uri, **(storage_options or {}))


def _resolve_fsspec(spec: str, storage_options: dict[str, Any] | None) -> list[str]:
    fs, path = _fs_and_path(spec, storage_options)
    protocol = scheme_of(spec)
    if _has_glob(path):
        found = [p for p in fs.glob(path) if not fs.isdir(p)]
        if not found:
            raise ValueError(f"input glob matches no files: {spec!r}")
        return [f"{protocol}://{p.lstrip('/')}" for p in found]
    if fs.isdir(path):
        found = [p for p in fs.ls(path, detail=False) if _is_warc_name(p) and not fs.isdir(p)]
        if not found:
            raise ValueError(f"input directory has no WARC files: {spec!r}")
        return [f"{protocol}://{p.lstrip('/')}" for p in found]
    if not fs.exists(path):
        raise ValueError(f"input does not exist: {spec!r}")
    return [spec]


def _check_http_exists(url: str) -> None:
    """A direct URL spec is probed once (HEAD); only a definite 404/410 is an error.

    Other statuses (403, 405, 5xx) cannot tell a typo from a server that refuses HEAD, so
    they pass and any failure shows up as a per-file error when the file is read.
    """
    import requests

    try:
        resp = requests.head(url, allow_redirects=True, timeout=HTTP_TIMEOUT, headers=HTTP_HEADERS)
    except requests.RequestException:
        return
    if resp.status_code in (404, 410):
        raise ValueError(f"input URL does not exist (HTTP {resp.status_code}): {url!r}")


def _resolve_list_file(
    spec: str, base_url: str, storage_options: dict[str, Any] | None
) -> list[str]:
    """Entries of a list file; each entry is a URL, a local path/glob or a CC-relative path."""
    spec = local_path(spec) if is_local(spec) else spec
    if is_local(spec) and not os.path.isfile(os.path.expanduser(spec)):
        raise ValueError(f"input list file does not exist: {spec!r}")
    is_cc_listing = spec.lower().endswith(CC_LISTING_SUFFIXES)
    try:
        lines = _read_list_lines(spec, storage_options)
    except InputError as err:
        raise ValueError(f"cannot read input list {spec!r}: {err}") from err
    uris: list[str] = []
    for line in lines:
        uris.extend(_resolve_list_entry(line, spec, is_cc_listing, base_url))
    if not uris:
        raise ValueError(f"input list is empty: {spec!r}")
    return uris


def _read_list_lines(spec: str, storage_options: dict[str, Any] | None) -> list[str]:
    with open_input(os.path.expanduser(spec) if is_local(spec) else spec, storage_options) as raw:
        stream: IO[bytes] = gzip.GzipFile(fileobj=raw) if spec.lower().endswith(".gz") else raw
        text = io.TextIOWrapper(stream, encoding="utf-8")
        entries = (line.split("#", 1)[0].strip() for line in text)
        return [e for e in entries if e]


def _resolve_list_entry(entry: str, list_spec: str, is_cc_listing: bool, base_url: str) -> list[str]:
    if scheme_of(entry) not in ("", "file"):
        return [entry]  # remote entries are not probed: a listing may hold 100k URLs
    path = local_path(entry)
    if is_cc_listing or (not os.path.isabs(path) and path.startswith("crawl-data/")):
        return [_join_url(base_url, path)]
    if is_local(list_spec):
        list_dir = os.path.dirname(os.path.abspath(os.path.expanduser(list_spec)))
        return _resolve_local(path, f"{entry} (in {list_spec})", relative_to=list_dir)
    return [urljoin(list_spec, path)]  # relative to a remote list file's location


def _join_url(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + "/" + path.lstrip("/")


# -- opening ----------------------------------------------------------------------------------


def open_input(uri: str, storage_options: dict[str, Any] | None = None) -> IO[bytes]:
    """Open a URI as a readable binary stream (streamed for remote URIs).

    Raises :class:`InputError` (``not_found``, ``http_<status>``, ``open_failed``).
    """
    if is_local(uri):
        return _open_local(local_path(uri))
    if is_http(uri):
        return _open_http(uri)
    return _open_fsspec(uri, storage_options)


def _open_local(path: str) -> IO[bytes]:
    try:
        return open(path, "rb")
    except FileNotFoundError as err:
        raise InputError("not_found", path, str(err)) from err
    except OSError as err:
        raise InputError("open_failed", path, str(err)) from err


def _http_session() -> Any:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    # Common Crawl answers 503 "slow down" under load: retry those with backoff.
    retry = Retry(total=5, backoff_factor=1.0, status_forcelist=(429, 500, 502, 503, 504),
                  allowed_methods=("GET", "HEAD"), raise_on_status=False)
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


def _open_http(url: str) -> IO[bytes]:
    import requests

    session = _http_session()
    try:
        resp = session.get(url, stream=True, timeout=HTTP_TIMEOUT, headers=HTTP_HEADERS)
    except requests.RequestException as err:
        session.close()
        raise InputError("open_failed", url, str(err)) from err
    if resp.status_code >= 400:
        resp.close()
        session.close()
        raise InputError(f"http_{resp.status_code}", url, resp.reason or "")
    return io.BufferedReader(_HttpBody(resp, session), buffer_size=COPY_CHUNK)


class _HttpBody(io.RawIOBase):
    """The raw (not content-decoded) body of a streamed HTTP response as a file object."""

    def __init__(self, resp: Any, session: Any) -> None:
        self._resp = resp
        self._session = session
        self._raw = resp.raw
        self._raw.decode_content = False  # the bytes as sent: keep .warc.gz compressed

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer), decode_content=False)
        n = len(data)
        buffer[:n] = data
        return n

    def close(self) -> None:
        if not self.closed:
            self._resp.close()
            self._session.close()
        super().close()


def _open_fsspec(uri: str, storage_options: dict[str, Any] | None) -> IO[bytes]:
    import fsspec

    try:
        return fsspec.open(uri, "rb", **(storage_options or {})).open()
    except FileNotFoundError as err:
        raise InputError("not_found", uri, str(err)) from err
    except Exception as err:  # fsspec backends raise their own types (botocore, aiohttp...)
        raise InputError("open_failed", uri, f"{type(err).__name__}: {err}") from err


@contextmanager
def local_copy(
    uri: str, tmp_dir: str | os.PathLike[str] | None = None,
    storage_options: dict[str, Any] | None = None,
) -> Iterator[str]:
    """Yield a local path for ``uri``: the path itself if local, else a streamed temp copy.

    The copy keeps the URI's file name suffix (readers sniff the content anyway) and is
    removed on exit, also when the download or the caller fails.
    """
    if is_local(uri):
        yield local_path(uri)
        return
    name = posixpath.basename(urlsplit(uri).path) or "input"
    fd, path = tempfile.mkstemp(prefix="interleaf-", suffix=f"-{name}", dir=tmp_dir)
    try:
        with os.fdopen(fd, "wb") as dst, open_input(uri, storage_options) as src:
            shutil.copyfileobj(src, dst, COPY_CHUNK)
        yield path
    finally:
        Path(path).unlink(missing_ok=True)
