"""Benchmark: peak memory of the extract job as the WARC grows (issue: memory stays flat).

Packs WARCs of the requested sizes from real records of ../shared/data: the Heritrix crawl
of archive.org (HTML pages with the images they reference, archived), the trafilatura and
goose3 HTML pages and the Conceptual Captions photos as image responses, repeated with a
copy number in every URL (so nothing collapses into one record). Then runs
``interleaf extract`` on each with Spark ``local[1]`` (one task = the whole WARC) and samples
the process tree every 0.2 s with psutil: the peak RSS of the executor JVM (in local mode
the driver's JVM runs the executor), of each Python worker (pyspark.daemon and the workers
it forks) and of the driver's Python process.

    python bench/memory.py [--sizes 0.1,0.5,1.1] [--data ../shared/data] [--keep DIR]

Goal: peak per Python worker <= 1.5 GB, and flat (not growing with the WARC).
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
sys.path.insert(0, str(_BENCH.parent))

from bench.extract import html_files  # noqa: E402

DEFAULT_DATA = _BENCH.parent / ".." / "shared" / "data"
Record = tuple[str, str, bytes]  # url, content type, payload


def source_records(data: Path) -> list[Record]:
    records: list[Record] = []
    with open(data / "warc/with-images/aut_example_IAH-2008-archive.org.warc.gz", "rb") as f:
        for rec in ArchiveIterator(f):
            if rec.rec_type == "response" and rec.http_headers is not None:
                ctype = rec.http_headers.get_header("Content-Type") or "application/octet-stream"
                records.append((rec.rec_headers.get_header("WARC-Target-URI"), ctype, rec.content_stream().read()))
    records += [(url, ctype or "text/html", payload) for url, payload, ctype in html_files(data)]
    for photo in sorted((data / "image_text/conceptual_captions").glob("*.jpg")):
        records.append((f"http://photos.example.org/{photo.name}", "image/jpeg", photo.read_bytes()))
    return records


def pack_warc(records: list[Record], target: Path, size: int) -> tuple[int, int]:
    """Write copies of ``records`` until the file reaches ``size`` bytes; (records, bytes)."""
    written = copy = 0
    with target.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        while out.tell() < size:
            for url, ctype, payload in records:
                # The copy number goes into the host, so relative links of a page and its
                # archived images stay together within one copy.
                host_url = url.replace("://", f"://c{copy}.", 1)
                headers = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
                writer.write_record(writer.create_warc_record(host_url, "response", payload=io.BytesIO(payload),
                                                              http_headers=headers))
                written += 1
            copy += 1
    return written, target.stat().st_size


def classify(proc: psutil.Process) -> str | None:
    try:
        name, cmd = proc.name(), " ".join(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    if name == "java" or cmd.startswith("java") or "/bin/java" in cmd:
        return "executor_jvm"
    if "pyspark.daemon" in cmd or "pyspark.worker" in cmd or "pyspark/daemon" in cmd:
        return "python_worker"
    return None


def measure(warc: Path, out: Path) -> dict[str, float]:
    """Peak RSS (MB) by kind while ``interleaf extract`` runs on ``warc``."""
    peaks = {"executor_jvm": 0.0, "python_worker": 0.0, "driver_python": 0.0}
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "extract", "--input", str(warc), "--output",
                             str(out), "--master", "local[1]", "--no-progress", "--force"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=_BENCH.parent)
    driver = psutil.Process(proc.pid)
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            try:
                peaks["driver_python"] = max(peaks["driver_python"], driver.memory_info().rss / 2**20)
                for child in driver.children(recursive=True):
                    kind = classify(child)
                    if kind:
                        peaks[kind] = max(peaks[kind], child.memory_info().rss / 2**20)
            except psutil.NoSuchProcess:
                pass
            time.sleep(0.2)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    start = time.perf_counter()
    _, stderr = proc.communicate()
    stop.set()
    thread.join()
    if proc.returncode != 0:
        raise SystemExit(f"extract failed on {warc}:\n{stderr[-3000:]}")
    peaks["seconds"] = time.perf_counter() - start
    return peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sizes", default="0.1,0.5,1.1", help="WARC sizes in GB (10^9 bytes)")
    parser.add_argument("--keep", type=Path, help="write the WARCs here and keep them")
    args = parser.parse_args()
    if not (args.data / "warc/with-images").is_dir():
        raise SystemExit(f"needs the shared sample data at {args.data}")
    records = source_records(args.data)
    print(f"{len(records)} real records per copy ({sum(len(r[2]) for r in records) / 1e6:.1f} MB of payload)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"{'WARC':>9} {'records':>8} {'extract s':>9} {'executor JVM':>13} {'Python worker':>14} {'driver':>8}")
        for size in (float(s) for s in args.sizes.split(",")):
            warc = folder / f"bench-{size:g}GB.warc.gz"
            if not warc.exists():
                pack_warc(records, warc, int(size * 1e9))
            n = sum(1 for _ in ArchiveIterator(open(warc, "rb")))
            peaks = measure(warc, Path(tmp) / f"out-{size:g}")
            print(f"{warc.stat().st_size / 1e9:7.2f}GB {n:8d} {peaks['seconds']:9.0f} "
                  f"{peaks['executor_jvm']:10.0f} MB {peaks['python_worker']:11.0f} MB {peaks['driver_python']:5.0f} MB",
                  flush=True)


if __name__ == "__main__":
    main()
