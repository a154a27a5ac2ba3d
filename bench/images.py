"""interleaf's image fetch stage against img2dataset: same URLs, same local HTTP server, one run.

What runs
---------
* Images: the conceptual_captions photos (``--data``, ~680x450 JPEGs) plus the same photos
  upscaled to ``--big-side`` px (JPEG q90, made in memory at start), served under ``--urls``
  distinct paths (URL i serves photo i % n_photos), round-robin over ``--hosts`` loopback
  addresses 127.0.0.2, 127.0.0.3, ... (distinct hosts, as on the web, so our per-host
  politeness limit applies as in production, not as if every image came from one site).
* Server: one asyncio HTTP/1.1 server in its own process (not sharing a GIL with either tool;
  it does share the 2 cores with them, equally for both). Bodies come from memory; it counts
  hits per path and the script checks that every URL was requested exactly once per tool.
  Keep-alive is honoured (as real image hosts do) unless ``--no-keepalive``.
* interleaf: the real stage path. ``plan_buckets`` over the URLs with
  ``urls_per_task = ceil(urls / (processes * tasks_per_process))`` (crc32 buckets, handed to
  workers as they free up, as Spark does), then ``fetch_bucket`` (fetch_rows: Downloader.fetch_many + decode_image; rows
  written to parquet chunks and compacted, exactly what the stage writes) on a
  multiprocessing pool of ``--processes`` forked workers, as Spark runs one Python worker per
  core. ``images.filters=[]`` so every decodable image is kept, like
  img2dataset; retries=0; threads/per_host from the flags.
* img2dataset: ``img2dataset.download`` with processes_count=``--processes``,
  thread_count=``--threads``, number_sample_per_shard=ceil(urls / processes) (so each process
  gets one shard), image_size=``--max-side``, resize_mode="keep_ratio_largest" (longer side =
  image_size; plain "keep_ratio" sets the *shorter* side), resize_only_if_bigger=True (we
  never upscale), encode_format="jpg", encode_quality=``--quality``,
  output_format="webdataset", retries=0, timeout=20, enable_wandb=False, into a new
  output folder (incremental_mode="overwrite" is broken in 1.47.0, see run_img2dataset);
  everything else at its defaults (urllib, a new connection per request, cv2 decode,
  INTER_AREA downscale, EXIF extraction and sha256 on; default disallowed_header_directives).
  It runs in a subprocess of ``--img2dataset-python`` (default: this interpreter), which lets
  it live in its own venv.

Timing: "seconds" is wall time from the start of the tool's run to all images written:
for us from pool creation to every bucket compacted; for img2dataset the ``download()`` call
(reading the URL list, spawning its workers and logger, writing the tars). Interpreter start
and imports of the parent process are excluded for both. "in-worker s" is the time from the
first worker starting its task/shard to the last one finishing (no pool start-up). "tool CPU
s" is the user+system CPU of all the tool's processes (RUSAGE_CHILDREN, so the img2dataset
subprocess's own start-up and imports are in it); "server CPU s" is what the HTTP server
spent serving that tool, on the same 2 cores.

Per-core decoder figure: ``decode_image`` (decode with JPEG draft, EXIF, RGB, sha256 of file
and pixels, LANCZOS resize, pHash, JPEG re-encode) over the same photos in one thread, and
for reference img2dataset's ``Resizer`` (cv2 decode, INTER_AREA resize, encode) likewise.

Setup (img2dataset's dependencies, e.g. albumentations/opencv/wandb, are kept out of the
project venv)::

    python3 -m venv /work/bench-venv
    /work/bench-venv/bin/pip install img2dataset        # tested with 1.47.0
    /work/venv/bin/python bench/images.py --img2dataset-python /work/bench-venv/bin/python \\
        [--urls 3000] [--max-side 512] [--quality 90] [--threads 16] [--processes 2] [--hosts 16]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import math
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections import Counter
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "image_text" / "conceptual_captions"


# -- test images --------------------------------------------------------------------------------


def load_photos(data: Path, big_side: int) -> list[bytes]:
    """The real photos, then each upscaled so its longer side is ``big_side`` (JPEG q90)."""
    from PIL import Image

    paths = sorted(data.glob("*.jpg"))
    if not paths:
        raise SystemExit(f"no .jpg photos under {data}")
    small = [p.read_bytes() for p in paths]
    big = []
    for raw in small:
        with Image.open(io.BytesIO(raw)) as im:
            scale = big_side / max(im.size)
            size = (round(im.width * scale), round(im.height * scale))
            up = im.convert("RGB").resize(size, Image.Resampling.BICUBIC)
        out = io.BytesIO()
        up.save(out, format="JPEG", quality=90)
        big.append(out.getvalue())
    return small + big


def make_urls(n: int, addresses: list[tuple[str, int]], n_photos: int) -> list[str]:
    """Paths with a hash-like part, as CDN URLs have. Our crc32 buckets are not exactly equal
    (the sizes are printed): the bigger one decides our wall time."""
    urls = []
    for i in range(n):
        host, port = addresses[i % len(addresses)]
        tag = hashlib.sha1(str(i).encode()).hexdigest()[:12]
        urls.append(f"http://{host}:{port}/img/{tag}/p{i % n_photos}.jpg")
    return urls


# -- the HTTP server (own process) -------------------------------------------------------------


def serve(photos: list[bytes], n_hosts: int, keepalive: bool, conn) -> None:
    """Serve /img/<seq>/p<k>.jpg → photos[k] on 127.0.0.2.. (one port each); /__hits returns
    and resets the per-path hit counts. Sends its addresses through ``conn``, then runs until
    killed."""
    hits: Counter[str] = Counter()

    def response(path: str, close: bool) -> bytes:
        conn_header = b"Connection: close\r\n" if close else b"Connection: keep-alive\r\n"
        if path.startswith("/img/"):
            try:
                body = photos[int(path.rsplit("/p", 1)[1].split(".", 1)[0])]
            except (ValueError, IndexError):
                body = None
            if body is not None:
                hits[path] += 1
                return (b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n%s\r\n"
                        % (len(body), conn_header)) + body
        elif path == "/__hits":
            body = json.dumps(dict(hits)).encode()
            hits.clear()
            return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
                    % (len(body), conn_header)) + body
        return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n%s\r\n" % conn_header

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                if len(parts) != 3:
                    return
                _method, path, version = parts
                headers = {k.strip().lower(): v.strip().lower()
                           for k, _, v in (line.partition(":") for line in lines[1:] if line)}
                close = (not keepalive or version == "HTTP/1.0"
                         or headers.get("connection") == "close")
                writer.write(response(path, close))
                await writer.drain()
                if close:
                    return
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def main() -> None:
        servers, addresses = [], []
        for k in range(n_hosts):
            host = f"127.0.0.{2 + k}"
            server = await asyncio.start_server(handle, host, 0, backlog=1024)
            servers.append(server)
            addresses.append((host, server.sockets[0].getsockname()[1]))
        conn.send(addresses)
        conn.close()
        await asyncio.gather(*(s.serve_forever() for s in servers))

    asyncio.run(main())


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    """User + system CPU seconds of every finished, reaped descendant (pool workers, the
    img2dataset subprocess and the processes it waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def take_hits(address: tuple[str, int]) -> Counter[str]:
    with urllib.request.urlopen(f"http://{address[0]}:{address[1]}/__hits", timeout=10) as r:
        return Counter(json.loads(r.read()))


def check_hits(hits: Counter[str], urls: list[str]) -> str:
    wanted = Counter("/" + u.split("/", 3)[3] for u in urls)
    missing = sum(1 for p in wanted if p not in hits)
    repeated = sum(1 for p, n in hits.items() if n > 1)
    extra = sum(1 for p in hits if p not in wanted)
    if missing == repeated == extra == 0:
        return "every URL fetched exactly once"
    return f"MISMATCH: {missing} URLs never fetched, {repeated} fetched more than once, {extra} unknown"


# -- interleaf ---------------------------------------------------------------------------------


def _timed_bucket(task, config, out_dir):
    from pipeline.images.fetch import fetch_bucket

    start = time.time()
    result = fetch_bucket(task, config, out_dir)
    return result, start, time.time()


def run_interleaf(urls: list[str], args: argparse.Namespace, out_dir: Path) -> dict:
    from functools import partial

    from pipeline.config import Config
    from pipeline.images.fetch import plan_buckets

    config = Config()
    c = config.images
    c.threads, c.per_host = args.threads, args.per_host
    c.max_side, c.quality, c.output_format = args.max_side, args.quality, "jpeg"
    c.retries, c.total_timeout = 0, 20.0
    c.allow_networks = ["127.0.0.0/8"]
    c.filters = []  # keep every decodable image, as img2dataset does
    # Several tasks per worker, handed out as workers free up: how Spark schedules tasks on
    # cores, and it keeps one uneven crc32 bucket from setting the wall time.
    c.urls_per_task = math.ceil(len(urls) / (args.processes * args.tasks_per_process))
    tasks = plan_buckets([(u, None) for u in urls], c.urls_per_task)

    fn = partial(_timed_bucket, config=config, out_dir=str(out_dir))
    started = time.perf_counter()
    pool = mp.get_context("fork").Pool(args.processes)
    results = pool.map(fn, tasks, chunksize=1)
    pool.close()
    pool.join()  # workers exit and are reaped, so their CPU time counts in RUSAGE_CHILDREN
    seconds = time.perf_counter() - started

    rows = _read_images(out_dir)
    ok = [r for r in rows if r["status"] == "ok"]
    reasons = Counter(r["reason"] for r in rows if r["status"] != "ok")
    return {
        "ok": len(ok), "rows": len(rows), "seconds": seconds,
        "in_worker": max(e for _, _, e in results) - min(s for _, s, _ in results),
        "failures": dict(reasons),
        "max_out_side": max((max(r["width"], r["height"]) for r in ok), default=0),
        "mean_out_bytes": sum(len(r["image"]) for r in ok) / max(len(ok), 1),
        "tasks": [len(t.urls) for t in tasks],
    }


def _read_images(out_dir: Path) -> list[dict]:
    import pyarrow.parquet as pq

    rows = []
    for path in sorted(out_dir.glob("bucket-*.parquet")):
        rows += pq.read_table(path, columns=["status", "reason", "width", "height", "image"]).to_pylist()
    return rows


# -- img2dataset (subprocess, possibly another venv) -------------------------------------------

I2D_RUNNER = textwrap.dedent('''
    import glob, io, json, os, sys, tarfile, time

    def download(spec):
        from img2dataset import download
        start = time.perf_counter()
        download(**spec["kwargs"])
        seconds = time.perf_counter() - start
        out = spec["kwargs"]["output_folder"]
        stats = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(out, "*_stats.json")))]
        ok, sides, sizes = 0, [], []
        for tar in sorted(glob.glob(os.path.join(out, "*.tar"))):
            with tarfile.open(tar) as t:
                for m in t.getmembers():
                    if m.name.endswith(".jpg"):
                        ok += 1
                        sizes.append(m.size)
                    elif m.name.endswith(".json"):
                        meta = json.load(t.extractfile(m))
                        if meta.get("width"):
                            sides.append(max(meta["width"], meta["height"]))
        failures = {}
        for s in stats:
            for k, v in s["status_dict"].items():
                if k != "success":
                    failures[k] = failures.get(k, 0) + v
        return {"ok": ok, "seconds": seconds,
                "in_worker": (max(s["end_time"] for s in stats) - min(s["start_time"] for s in stats))
                             if stats else float("nan"),
                "successes_in_stats": sum(s["successes"] for s in stats), "failures": failures,
                "max_out_side": max(sides, default=0), "mean_out_bytes": sum(sizes) / max(len(sizes), 1)}

    def resize(spec):
        from img2dataset.resizer import Resizer
        r = Resizer(**spec["resizer"])
        photos = [open(p, "rb").read() for p in spec["photos"]]
        n = spec["n"]
        start = time.perf_counter()
        for i in range(n):
            img, w, h, ow, oh, err = r(io.BytesIO(photos[i % len(photos)]))
            assert err is None, err
        return {"per_s": n / (time.perf_counter() - start)}

    if __name__ == "__main__":
        spec = json.load(open(sys.argv[1]))
        result = {"download": download, "resize": resize}[spec["mode"]](spec)
        with open(spec["result"], "w") as f:
            json.dump(result, f)
''')


def _run_i2d(python: str, spec: dict, work: Path, log_name: str, timeout: float = 600) -> dict:
    runner = work / "i2d_runner.py"
    runner.write_text(I2D_RUNNER)
    spec_path, result_path = work / f"{log_name}.spec.json", work / f"{log_name}.result.json"
    spec["result"] = str(result_path)
    spec_path.write_text(json.dumps(spec))
    env = dict(os.environ, NO_ALBUMENTATIONS_UPDATE="1", WANDB_MODE="disabled", WANDB_SILENT="true",
               OMP_NUM_THREADS="1")
    log = work / f"{log_name}.log"
    with open(log, "w") as f:
        try:
            proc = subprocess.run([python, str(runner), str(spec_path)], check=False, stdout=f,
                                  stderr=subprocess.STDOUT, env=env, cwd=work, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SystemExit(f"img2dataset run took over {timeout:.0f} s; log: {log}") from None
    if proc.returncode != 0 or not result_path.exists():
        raise SystemExit(f"img2dataset run failed (exit {proc.returncode}); log: {log}\n"
                         + log.read_text()[-3000:])
    return json.loads(result_path.read_text())


def resizer_kwargs(args: argparse.Namespace) -> dict:
    return {"image_size": args.max_side, "resize_mode": "keep_ratio_largest", "resize_only_if_bigger": True,
            "encode_format": "jpg", "encode_quality": args.quality}


def run_img2dataset(urls: list[str], args: argparse.Namespace, work: Path) -> dict:
    url_list = work / "urls.txt"
    url_list.write_text("".join(u + "\n" for u in urls))
    kwargs = {
        "url_list": str(url_list), "input_format": "txt", "output_folder": str(work / "i2d_out"),
        "output_format": "webdataset", "processes_count": args.processes, "thread_count": args.threads,
        "number_sample_per_shard": math.ceil(len(urls) / args.processes),
        "retries": 0, "timeout": 20, "enable_wandb": False,
        # A fresh output folder, so the default incremental mode has nothing to skip. (Its
        # "overwrite" mode deletes the _tmp folder it has just made inside the output folder
        # when that folder exists, and then fails on every shard in 1.47.0.)
        "incremental_mode": "incremental",
        **resizer_kwargs(args),
    }
    return _run_i2d(args.img2dataset_python, {"mode": "download", "kwargs": kwargs}, work, "i2d_download",
                    timeout=max(300.0, len(urls) / 5))


# -- per-core decoder --------------------------------------------------------------------------


def decode_per_core(photos: list[bytes], args: argparse.Namespace) -> float:
    from pipeline.images.decode import DecodeSettings, decode_image

    settings = DecodeSettings(max_side=args.max_side, output_format="jpeg", quality=args.quality)
    for p in photos:  # warm-up (and a check)
        assert not isinstance(decode_image(p, settings), str)
    n = args.decode_n
    start = time.perf_counter()
    for i in range(n):
        decode_image(photos[i % len(photos)], settings)
    return n / (time.perf_counter() - start)


def i2d_resize_per_core(photos: list[bytes], args: argparse.Namespace, work: Path) -> float:
    paths = []
    for i, p in enumerate(photos):
        path = work / "photos" / f"{i}.jpg"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(p)
        paths.append(str(path))
    spec = {"mode": "resize", "resizer": resizer_kwargs(args), "photos": paths, "n": args.decode_n}
    return _run_i2d(args.img2dataset_python, spec, work, "i2d_resize")["per_s"]


# -- main --------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--urls", type=int, default=3000, help="distinct image URLs (default 3000)")
    ap.add_argument("--max-side", type=int, default=512)
    ap.add_argument("--quality", type=int, default=90)
    ap.add_argument("--threads", type=int, default=16, help="download threads per process, both tools")
    ap.add_argument("--processes", type=int, default=2, help="worker processes, both tools")
    ap.add_argument("--tasks-per-process", type=int, default=4,
                    help="interleaf buckets per worker process (load balancing, as Spark tasks)")
    ap.add_argument("--per-host", type=int, default=2, help="our per-host concurrency limit (production: 2)")
    ap.add_argument("--hosts", type=int, default=16, help="loopback addresses the URLs are spread over")
    ap.add_argument("--big-side", type=int, default=1600, help="longer side of the upscaled copies")
    ap.add_argument("--no-keepalive", dest="keepalive", action="store_false",
                    help="server closes every connection after one response")
    ap.add_argument("--decode-n", type=int, default=720, help="images for the per-core decode figure")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--img2dataset-python", default=sys.executable,
                    help="interpreter that can import img2dataset (default: this one)")
    ap.add_argument("--order", choices=["ours-first", "img2dataset-first"], default="ours-first")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()

    probe = subprocess.run([args.img2dataset_python, "-c", "import img2dataset"], check=False,
                           capture_output=True, text=True, env=dict(os.environ, NO_ALBUMENTATIONS_UPDATE="1"))
    if probe.returncode != 0:
        raise SystemExit(f"{args.img2dataset_python} cannot import img2dataset; make a venv for it "
                         "(see this script's docstring) and pass --img2dataset-python:\n"
                         + probe.stderr.strip().splitlines()[-1])
    photos = load_photos(args.data, args.big_side)
    parent, child = mp.Pipe()
    server = mp.get_context("spawn").Process(target=serve, args=(photos, args.hosts, args.keepalive, child),
                                             daemon=True)
    server.start()
    addresses = parent.recv()
    urls = make_urls(args.urls, addresses, len(photos))
    work = Path(tempfile.mkdtemp(prefix="bench-images-"))
    print(f"{len(urls)} URLs over {len(addresses)} hosts ({len(photos)} photos: {len(photos) // 2} real "
          f"~680px, {len(photos) // 2} upscaled to {args.big_side}px); max_side={args.max_side} "
          f"quality={args.quality}; {args.processes} processes x {args.threads} threads each; "
          f"keep-alive {'on' if args.keepalive else 'off'}; work dir {work}", flush=True)
    try:
        take_hits(addresses[0])  # reset
        results = {}
        order = ["interleaf", "img2dataset"] if args.order == "ours-first" else ["img2dataset", "interleaf"]
        for tool in order:
            cpu_before, server_before = children_cpu(), process_cpu(server.pid)
            if tool == "interleaf":
                out = work / "interleaf_out"
                out.mkdir()
                res = run_interleaf(urls, args, out)
            else:
                res = run_img2dataset(urls, args, work)
            res["cpu"] = children_cpu() - cpu_before
            res["server_cpu"] = process_cpu(server.pid) - server_before
            res["hits"] = check_hits(take_hits(addresses[0]), urls)
            results[tool] = res
            print(f"  {tool}: {res['hits']}; failures {res['failures'] or 'none'}; "
                  f"longest output side {res['max_out_side']}; mean output {res['mean_out_bytes'] / 1024:.1f} KiB"
                  + (f"; bucket sizes {res['tasks']}" if "tasks" in res else ""), flush=True)

        ours, peer = results["interleaf"], results["img2dataset"]
        print()
        print(f"{'tool':<12} {'images ok':>10} {'seconds':>8} {'images/s':>9} {'ratio':>6} {'in-worker s':>12}"
              f" {'tool CPU s':>11} {'CPU ms/img':>11} {'server CPU s':>13}")
        for tool in ("interleaf", "img2dataset"):
            r = results[tool]
            rate = r["ok"] / r["seconds"]
            ratio = rate / (peer["ok"] / peer["seconds"])
            print(f"{tool:<12} {r['ok']:>10} {r['seconds']:>8.2f} {rate:>9.1f} {ratio:>6.2f} {r['in_worker']:>12.2f}"
                  f" {r['cpu']:>11.1f} {1000 * r['cpu'] / max(r['ok'], 1):>11.1f} {r['server_cpu']:>13.1f}")
        ratio = (ours["ok"] / ours["seconds"]) / (peer["ok"] / peer["seconds"])
        print(f"ratio ours/img2dataset (images/s): {ratio:.2f}")
        print()
        print(f"decode+resize+pHash per core: {decode_per_core(photos, args):.1f} images/s")
        print(f"(img2dataset Resizer per core, no pHash/pixel hash: "
              f"{i2d_resize_per_core(photos, args, work):.1f} images/s)")
    finally:
        server.kill()
        server.join()
        if not args.keep:
            import shutil

            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
