"""resolve_inputs / open_input / local_copy against local files, HTTP and S3 served locally."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from pipeline.warc.records import WarcFileReport, read_records
from pipeline.warc.sources import InputError, local_copy, open_input, resolve_inputs

CC_PATH = "crawl-data/CC-MAIN-2024-22/segments/1715971057216.39/warc/CC-MAIN-x-00000.warc.gz"


@pytest.fixture
def warcs(tmp_path: Path, kit: Any) -> Path:
    """data/{a,b}.warc.gz, c.warc, d.arc.gz (copy), notes.txt, sub/e.warc.gz."""
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    for name in ("a", "b"):
        kit.write_warc(data / f"{name}.warc.gz", [kit.html_response(f"http://x/{name}", b"<p>%s</p>" % name.encode())])
    kit.write_warc(data / "c.warc", [kit.html_response("http://x/c", b"<p>c</p>")], compress=False)
    (data / "d.arc.gz").write_bytes((data / "a.warc.gz").read_bytes())
    (data / "notes.md").write_text("not an input")
    kit.write_warc(data / "sub" / "e.warc.gz", [kit.html_response("http://x/e", b"<p>e</p>")])
    return data


def test_glob_directory_and_dedup(warcs: Path) -> None:
    a, b, c, d = (str(warcs / n) for n in ("a.warc.gz", "b.warc.gz", "c.warc", "d.arc.gz"))
    assert resolve_inputs([str(warcs / "*.warc.gz")]) == [a, b]
    assert resolve_inputs([str(warcs)]) == [a, b, c, d]  # WARC/ARC suffixes only, not recursive
    assert resolve_inputs([b, str(warcs / "*.warc.gz"), a]) == [a, b]
    assert resolve_inputs([str(warcs / "**" / "*.warc.gz")]) == sorted([a, b, str(warcs / "sub" / "e.warc.gz")])


def test_relative_paths_become_absolute(warcs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(warcs.parent)
    assert resolve_inputs(["data/a.warc.gz", "./data/a.warc.gz"]) == [str(warcs / "a.warc.gz")]


def test_paths_text_file(warcs: Path) -> None:
    listing = warcs / "inputs.txt"
    listing.write_text(
        "# sample inputs\n\n"
        "a.warc.gz\n"
        f"{warcs / 'c.warc'}   # absolute path, trailing comment\n"
        "sub/*.warc.gz\n"
        "https://example.org/x.warc.gz\n"
        f"{CC_PATH}\n"
    )
    expected = sorted([
        str(warcs / "a.warc.gz"), str(warcs / "c.warc"), str(warcs / "sub" / "e.warc.gz"),
        "https://example.org/x.warc.gz", f"https://cc.example/{CC_PATH}",
    ])
    assert resolve_inputs([str(listing)], base_url="https://cc.example/") == expected
    plain = warcs / "inputs.lst"
    plain.write_text(listing.read_text())
    assert resolve_inputs([f"@{plain}"], base_url="https://cc.example/") == expected


def test_local_warc_paths_gz_listing(tmp_path: Path, kit: Any) -> None:
    listing = tmp_path / "warc.paths.gz"
    listing.write_bytes(kit.gz_lines([CC_PATH, CC_PATH.replace("00000", "00001")]))
    assert resolve_inputs([str(listing)]) == [
        f"https://data.commoncrawl.org/{CC_PATH}",
        f"https://data.commoncrawl.org/{CC_PATH.replace('00000', '00001')}",
    ]


@pytest.mark.parametrize("spec,match", [
    ("missing.warc.gz", "does not exist"),
    ("*.nothing", "matches no files"),
    ("empty-dir", "no \\*.warc"),
    ("empty.txt", "list is empty"),
    ("bad.txt", "does not exist"),
    ("", "empty input spec"),
])
def test_misconfigured_specs_raise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   spec: str, match: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty-dir").mkdir()
    (tmp_path / "empty.txt").write_text("# nothing\n\n")
    (tmp_path / "bad.txt").write_text("gone.warc.gz\n")
    with pytest.raises(ValueError, match=match) as err:
        resolve_inputs([spec])
    if spec:
        assert spec in str(err.value)


# -- HTTP (a local http.server stands in for https://data.commoncrawl.org) ------------------


def test_remote_listing_and_streamed_reads(http_server: Any, warcs: Path, kit: Any) -> None:
    rel = ["crawl-data/CC-TEST/segments/1/warc/a.warc.gz", "crawl-data/CC-TEST/segments/1/warc/c.warc"]
    for path, src in zip(rel, ("a.warc.gz", "c.warc")):
        (http_server.root / path).parent.mkdir(parents=True, exist_ok=True)
        (http_server.root / path).write_bytes((warcs / src).read_bytes())
    (http_server.root / "warc.paths.gz").write_bytes(kit.gz_lines(rel))

    uris = resolve_inputs([http_server.url + "warc.paths.gz"], base_url=http_server.url)

    assert uris == sorted(http_server.url + p for p in rel)
    for uri, src in zip(uris, ("a", "c")):
        report = WarcFileReport(uri)
        records = list(read_records(uri, report=report))
        assert [r.payload for r in records] == [b"<p>%s</p>" % src.encode()]
        assert report.error is None and report.bytes_read == (http_server.root / uri[len(http_server.url):]).stat().st_size


def test_http_body_is_not_content_decoded(http_server: Any, warcs: Path) -> None:
    # The server labels .gz files "Content-Encoding: gzip"; the stream must stay compressed.
    (http_server.root / "a.warc.gz").write_bytes((warcs / "a.warc.gz").read_bytes())
    with open_input(http_server.url + "a.warc.gz") as stream:
        first = stream.read(2)
        rest = stream.read()
    assert first + rest == (warcs / "a.warc.gz").read_bytes()


def test_http_missing_file(http_server: Any) -> None:
    url = http_server.url + "nope.warc.gz"
    with pytest.raises(ValueError, match="404"):
        resolve_inputs([url])
    with pytest.raises(InputError) as err:
        open_input(url)
    assert err.value.reason == "http_404"
    report = WarcFileReport(url)
    assert list(read_records(url, report=report)) == []
    assert report.error == "http_404"


def test_local_copy_of_remote_file(http_server: Any, warcs: Path, tmp_path: Path) -> None:
    (http_server.root / "a.warc.gz").write_bytes((warcs / "a.warc.gz").read_bytes())
    spool = tmp_path / "spool"
    spool.mkdir()
    with local_copy(http_server.url + "a.warc.gz", spool) as path:
        assert Path(path).read_bytes() == (warcs / "a.warc.gz").read_bytes()
        assert path.endswith("a.warc.gz") and Path(path).parent == spool
    assert list(spool.iterdir()) == []
    with pytest.raises(InputError):
        with local_copy(http_server.url + "nope.warc.gz", spool):
            pass
    assert list(spool.iterdir()) == []
    with local_copy(str(warcs / "a.warc.gz"), spool) as path:
        assert path == str(warcs / "a.warc.gz")


# -- S3 (moto's server mode on 127.0.0.1 stands in for the commoncrawl bucket) ---------------


def _upload(endpoint: str, bucket: str, files: dict[str, bytes]) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint)
    for key, body in files.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)


def test_s3_glob_and_read_with_storage_options(s3_endpoint: str, s3_bucket: str, warcs: Path) -> None:
    _upload(s3_endpoint, s3_bucket, {
        "crawl/a.warc.gz": (warcs / "a.warc.gz").read_bytes(),
        "crawl/b.warc.gz": (warcs / "b.warc.gz").read_bytes(),
        "crawl/readme.txt": b"x",
    })
    options = {"endpoint_url": s3_endpoint, "skip_instance_cache": True}

    uris = resolve_inputs([f"s3://{s3_bucket}/crawl/*.warc.gz"], storage_options=options)

    assert uris == [f"s3://{s3_bucket}/crawl/a.warc.gz", f"s3://{s3_bucket}/crawl/b.warc.gz"]
    assert resolve_inputs([f"s3://{s3_bucket}/crawl/"], storage_options=options) == uris
    records = list(read_records(uris[1], storage_options=options))
    assert [r.payload for r in records] == [b"<p>b</p>"]
    with pytest.raises(ValueError, match="does not exist"):
        resolve_inputs([f"s3://{s3_bucket}/crawl/zzz.warc.gz"], storage_options=options)
    report = WarcFileReport("x")
    assert list(read_records(f"s3://{s3_bucket}/crawl/zzz.warc.gz", report=report,
                             storage_options=options)) == []
    assert report.error == "not_found"


def test_s3_endpoint_from_standard_env(s3_endpoint: str, s3_bucket: str, warcs: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _upload(s3_endpoint, s3_bucket, {"c.warc": (warcs / "c.warc").read_bytes()})
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    options = {"skip_instance_cache": True}  # a cached filesystem would keep its old endpoint
    uri = f"s3://{s3_bucket}/c.warc"
    assert resolve_inputs([uri], storage_options=options) == [uri]
    with open_input(uri, options) as stream:
        assert stream.read() == (warcs / "c.warc").read_bytes()
    assert os.environ["AWS_ENDPOINT_URL"] == s3_endpoint
