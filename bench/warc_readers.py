"""warcio vs FastWARC on the same input, through interleaf's read_records.

Builds one input from every shared WARC that both readers read without error (gzip files
concatenated into one .warc.gz, uncompressed ones into one .warc, each repeated --repeat
times), then reads it with each reader and prints records/s, MB/s (input bytes) and the
ratio to warcio. "full" is read_records (HTTP parsing and body decoding included, what
the pipeline pays); "parse" is the back-end alone (WARC framing and block reads).

    python bench/warc_readers.py [--data ../shared/data/warc] [--repeat 30] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Callable

from pipeline.warc.framing import PeekStream
from pipeline.warc.readers import BACKENDS
from pipeline.warc.records import WarcFileReport, read_records

READERS = ("warcio", "fastwarc")
DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "warc"


def readable_by_both(path: Path) -> bool:
    """Clean WARCs only: no ARC (FastWARC cannot), no whole-file gzip, no truncated file."""
    for reader in READERS:
        report = WarcFileReport(str(path))
        for _ in read_records(str(path), reader, report):
            pass
        if report.error or report.reader != reader:
            return False
    return True


def build_inputs(data: Path, repeat: int, out_dir: Path) -> list[Path]:
    files = sorted(p for p in data.rglob("*") if p.is_file() and readable_by_both(p))
    groups = {
        "bench.warc.gz": [p for p in files if p.read_bytes()[:2] == b"\x1f\x8b"],
        "bench.warc": [p for p in files if p.read_bytes()[:2] != b"\x1f\x8b"],
    }
    inputs = []
    for name, members in groups.items():
        if not members:
            continue
        target = out_dir / name
        blob = b"".join(p.read_bytes() for p in members)
        with open(target, "wb") as f:
            for _ in range(repeat):
                f.write(blob)  # per-record gzip and plain WARCs both concatenate cleanly
        inputs.append(target)
    return inputs


def run_full(path: Path, reader: str) -> int:
    return sum(1 for _ in read_records(str(path), reader))


def run_parse(path: Path, reader: str) -> int:
    with open(path, "rb") as f:
        return sum(1 for _ in BACKENDS[reader](PeekStream(f)))


def best_time(fn: Callable[[], int], rounds: int) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(rounds):
        start = time.perf_counter()
        count = fn()
        best = min(best, time.perf_counter() - start)
    return best, count


def measure(inputs: list[Path], rounds: int) -> list[dict[str, object]]:
    size = sum(p.stat().st_size for p in inputs)
    rows = []
    for mode, fn in (("full", run_full), ("parse", run_parse)):
        for reader in READERS:
            seconds, records = best_time(lambda: sum(fn(p, reader) for p in inputs), rounds)
            rows.append({"mode": mode, "reader": reader, "records": records,
                         "seconds": seconds, "rec_s": records / seconds,
                         "mb_s": size / seconds / 1e6})
    for row in rows:
        ref = next(r for r in rows if r["mode"] == row["mode"] and r["reader"] == "warcio")
        row["ratio"] = ref["seconds"] / row["seconds"]  # speed-up over warcio
    return rows


def print_table(rows: list[dict[str, object]], inputs: list[Path]) -> None:
    size = sum(p.stat().st_size for p in inputs)
    print(f"input: {', '.join(p.name for p in inputs)} ({size / 1e6:.1f} MB)")
    print(f"{'mode':<6} {'reader':<9} {'records':>8} {'seconds':>8} {'records/s':>10} "
          f"{'MB/s':>7} {'vs warcio':>9}")
    for r in rows:
        print(f"{r['mode']:<6} {r['reader']:<9} {r['records']:>8} {r['seconds']:>8.2f} "
              f"{r['rec_s']:>10.0f} {r['mb_s']:>7.1f} {r['ratio']:>8.2f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of WARCs")
    parser.add_argument("--repeat", type=int, default=30, help="copies of the input")
    parser.add_argument("--rounds", type=int, default=3, help="best of N timings")
    parser.add_argument("--tmp", default=None, help="where to write the combined input")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        parser.error(f"no WARC folder at {args.data}")
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        inputs = build_inputs(args.data, args.repeat, Path(tmp))
        print(f"cpus: {os.cpu_count()}, repeat: {args.repeat}, best of {args.rounds}")
        print_table(measure(inputs, args.rounds), inputs)


if __name__ == "__main__":
    main()
