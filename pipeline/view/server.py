"""``interleaf view SHARDS``: browse interleaved shards as training will see them.

A stdlib ``ThreadingHTTPServer`` on 127.0.0.1 (by default). At start it indexes the shard
folder: every ``shard-*.tar`` directly in it (symlinks leading outside the folder are
skipped), each member's offset and size, and a summary of each sample's JSON. Images are
served from inside the tars by (shard name, member name), and only for members of that index:
no request path is ever joined to a file system path, so ``..``, absolute paths, encoded
traversal and symlinks cannot reach anything else. All document text goes through
``html.escape``; pages carry a Content-Security-Policy without scripts.
"""

from __future__ import annotations

import html
import json
import logging
import mimetypes
import tarfile
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import pyarrow.parquet as pq

log = logging.getLogger(__name__)

PAGE_SIZE = 20
IMAGE_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp",
               "gif": "image/gif"}
CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'"
CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1000px; padding: 1em 2em; color: #222; }
nav a { margin-right: 1em; } form { margin: 1em 0; } label { margin-right: 1em; }
article.doc { border-top: 1px solid #ccc; padding: .5em 0; }
.node-text { white-space: pre-wrap; margin: .4em 0; } .kind { color: #888; font-size: 11px; margin-right: .5em; }
figure { margin: .6em 0; } figure img { max-width: 480px; max-height: 360px; display: block; }
figcaption, .meta { color: #555; font-size: 12px; } .missing { color: #a33; font-size: 12px; }
table { border-collapse: collapse; font-size: 12px; } th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: left; }
.pager a { margin: 0 .5em; }
"""


class Forbidden(Exception):
    pass


@dataclass
class Sample:
    key: str
    shard: str
    json_member: str
    language: str | None
    url: str | None
    title: str | None
    clip_scores: list[float]
    image_reasons: set[str]
    num_images: int
    num_files: int
    words: int
    preview: str


@dataclass
class ShardIndex:
    """Shards of one folder: members (name → (offset, size)) and sample summaries."""

    root: Path
    members: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)
    by_key: dict[str, Sample] = field(default_factory=dict)
    excluded_files: list[Path] = field(default_factory=list)

    @classmethod
    def build(cls, folder: str | Path) -> "ShardIndex":
        root = Path(folder).resolve()
        if not root.is_dir():
            raise FileNotFoundError(f"no shard folder {folder}")
        if not any(root.glob("*.tar")) and (root / "shards" / "interleaved").is_dir():
            root = (root / "shards" / "interleaved").resolve()  # an output root was given
        index = cls(root=root)
        for tar_path in sorted(root.glob("*.tar")):
            if not _inside(tar_path, root) or not tar_path.is_file():
                log.warning("view: skipping %s (outside %s)", tar_path, root)
                continue
            index._add_tar(tar_path)
        excluded = root / "excluded"
        if excluded.is_dir() and _inside(excluded, root):
            index.excluded_files = [p for p in sorted(excluded.glob("*.parquet"))
                                    if p.is_file() and _inside(p, root)]
        return index

    def _add_tar(self, tar_path: Path) -> None:
        members: dict[str, tuple[int, int]] = {}
        with tarfile.open(tar_path, mode="r:") as tar:
            for m in tar.getmembers():
                if not m.isfile() or "/" in m.name or m.name.startswith("."):
                    continue
                members[m.name] = (m.offset_data, m.size)
                if m.name.endswith(".json"):
                    fh = tar.extractfile(m)
                    try:
                        sample = json.loads(fh.read()) if fh else None
                    except ValueError:
                        sample = None
                    if isinstance(sample, dict):
                        self._add_sample(tar_path.name, m.name, sample)
        self.members[tar_path.name] = members

    def _add_sample(self, shard: str, member: str, doc: dict[str, Any]) -> None:
        from pipeline.export.selection import count_words

        key = member[: -len(".json")]
        nodes = doc.get("nodes") or []
        images = [n for n in nodes if n.get("type") == "image"]
        texts = [n.get("text") or "" for n in nodes if n.get("type") == "text"]
        sample = Sample(
            key=key, shard=shard, json_member=member, language=doc.get("language"), url=doc.get("url"),
            title=doc.get("title"), clip_scores=[float(n["clip_score"]) for n in images if n.get("clip_score") is not None],
            image_reasons={n["reason"] for n in images if n.get("reason")}, num_images=len(images),
            num_files=sum(1 for n in images if n.get("file")), words=sum(count_words(t) for t in texts),
            preview=" ".join(texts)[:300])
        self.samples.append(sample)
        self.by_key[key] = sample

    def read_member(self, shard: str, member: str) -> bytes:
        """Bytes of a known member of a known shard; KeyError otherwise."""
        offset, size = self.members[shard][member]
        with open(self.root / shard, "rb") as fh:
            fh.seek(offset)
            return fh.read(size)

    def document(self, key: str) -> dict[str, Any]:
        s = self.by_key[key]
        return json.loads(self.read_member(s.shard, s.json_member))

    def languages(self) -> list[str]:
        return sorted({s.language or "unknown" for s in self.samples})

    def image_reasons(self) -> list[str]:
        return sorted({r for s in self.samples for r in s.image_reasons})

    def excluded_rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for f in self.excluded_files:
            rows.extend(pq.read_table(f).to_pylist())
        return rows


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):
        return False


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _int(value: str | None, default: int) -> int:
    try:
        return max(0, int(value)) if value else default
    except ValueError:
        return default


def filter_samples(index: ShardIndex, lang: str | None, min_clip: float | None, reason: str | None) -> list[Sample]:
    out = []
    for s in index.samples:
        if lang and (s.language or "unknown") != lang:
            continue
        if min_clip is not None and (not s.clip_scores or max(s.clip_scores) < min_clip):
            continue
        if reason and reason not in s.image_reasons:
            continue
        out.append(s)
    return out


def filter_excluded(rows: list[dict[str, Any]], lang: str | None, reason: str | None) -> list[dict[str, Any]]:
    return [r for r in rows
            if (not lang or (r.get("language") or "unknown") == lang)
            and (not reason or r.get("reason") == reason or (r.get("reason") or "").startswith(reason + ":"))]


# -- pages -----------------------------------------------------------------------------------

def _layout(title: str, body: str) -> str:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_esc(title)}</title>'
            f"<style>{CSS}</style></head><body>"
            '<nav><a href="/">documents</a><a href="/excluded">excluded</a></nav>'
            f"<h1>{_esc(title)}</h1>{body}</body></html>")


def _select(name: str, options: list[str], current: str | None) -> str:
    opts = ['<option value="">any</option>'] + [
        f'<option value="{_esc(o)}"{" selected" if o == current else ""}>{_esc(o)}</option>' for o in options]
    return f'<select name="{name}" id="f-{name}">{"".join(opts)}</select>'


def _pager(path: str, params: dict[str, str], page: int, total: int) -> str:
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    links = []
    for label, p in (("« previous", page - 1), ("next »", page + 1)):
        if 0 <= p < pages:
            q = urlencode({**{k: v for k, v in params.items() if v}, "page": p})
            links.append(f'<a class="page-link" href="{path}?{_esc(q)}">{label}</a>')
    return f'<p class="pager">page {page + 1} of {pages} ({total} in all) {"".join(links)}</p>'


def page_index(index: ShardIndex, query: dict[str, str]) -> str:
    lang, reason = query.get("lang") or None, query.get("reason") or None
    min_clip = _float(query.get("min_clip"))
    page = _int(query.get("page"), 0)
    found = filter_samples(index, lang, min_clip, reason)
    form = (f'<form method="get" action="/"><label>language {_select("lang", index.languages(), lang)}</label>'
            f'<label>min CLIP score <input name="min_clip" id="f-min_clip" size="6" '
            f'value="{_esc(query.get("min_clip", ""))}"></label>'
            f'<label>image drop reason {_select("reason", index.image_reasons(), reason)}</label>'
            '<button type="submit" id="f-submit">filter</button></form>')
    items = []
    for s in found[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]:
        best = f"{max(s.clip_scores):.3f}" if s.clip_scores else "–"
        items.append(
            f'<article class="doc-summary" data-key="{_esc(s.key)}" data-language="{_esc(s.language)}">'
            f'<h3><a href="/doc/{quote(s.key)}">{_esc(s.title or s.url or s.key)}</a></h3>'
            f'<p class="meta">{_esc(s.url)} · language {_esc(s.language)} · {s.words} words · '
            f'{s.num_files}/{s.num_images} images · best CLIP {best} · {_esc(s.shard)}</p>'
            f"<p>{_esc(s.preview)}</p></article>")
    params = {"lang": lang or "", "min_clip": query.get("min_clip", ""), "reason": reason or ""}
    body = (form + f'<p id="count">{len(found)} of {len(index.samples)} documents</p>'
            + "".join(items) + _pager("/", params, page, len(found)))
    return _layout(f"interleaf view: {index.root.name}", body)


def page_document(index: ShardIndex, key: str) -> str:
    s = index.by_key[key]
    doc = index.document(key)
    parts = []
    for i, node in enumerate(doc.get("nodes") or []):
        if node.get("type") == "text":
            parts.append(f'<div class="node node-text" data-node="{i}"><span class="kind">{_esc(node.get("kind"))}'
                         f'</span>{_esc(node.get("text"))}</div>')
            continue
        meta = [f"image {node.get('image_index')}"]
        if node.get("clip_score") is not None:
            meta.append(f"CLIP {float(node['clip_score']):.3f} vs {_esc(node.get('clip_source'))}: "
                        f"“{_esc(node.get('clip_text'))}”")
        if node.get("alt"):
            meta.append(f"alt: {_esc(node['alt'])}")
        if node.get("caption"):
            meta.append(f"caption: {_esc(node['caption'])}")
        if node.get("synthetic_caption"):
            meta.append(f"synthetic caption: {_esc(node['synthetic_caption'])}")
        if node.get("ocr"):
            meta.append(f"OCR: {_esc((node['ocr'] or {}).get('text'))}")
        member = f"{key}.{node['file']}" if node.get("file") else None
        if member and member in index.members.get(s.shard, {}):
            src = f"/media/{quote(s.shard)}/{quote(member)}"
            parts.append(f'<figure class="node node-image" data-node="{i}" data-member="{_esc(member)}">'
                         f'<img src="{_esc(src)}" alt="{_esc(node.get("alt"))}" loading="eager">'
                         f'<figcaption>{" · ".join(meta)} · {_esc(node.get("url"))}</figcaption></figure>')
        else:
            parts.append(f'<div class="node node-image missing" data-node="{i}">image not in the shard: '
                         f'{_esc(node.get("status"))} ({_esc(node.get("reason"))}) · {_esc(node.get("url"))}</div>')
    signals = doc.get("signals") or {}
    sig_rows = "".join(f"<tr><td>{_esc(k)}</td><td>{_esc(v)}</td></tr>" for k, v in sorted(signals.items()))
    meta = (f'<p class="meta"><a href="{_esc(doc.get("url"))}" rel="noreferrer noopener">{_esc(doc.get("url"))}</a>'
            f' · key {_esc(key)} · {_esc(s.shard)} · language {_esc(doc.get("language"))} '
            f'({_esc(doc.get("language_score"))}) · date {_esc(doc.get("date"))} · WARC {_esc(doc.get("warc_file"))}'
            f' @ {_esc(doc.get("warc_offset"))}</p>')
    body = (meta + f'<article class="doc" id="document" data-key="{_esc(key)}">{"".join(parts)}</article>'
            f'<h2>Signals</h2><table id="signals"><tr><th>signal</th><th>value</th></tr>{sig_rows}</table>'
            f'<p><a href="/api/doc/{quote(key)}">sample JSON</a></p>')
    return _layout(doc.get("title") or key, body)


def page_excluded(index: ShardIndex, query: dict[str, str]) -> str:
    rows = index.excluded_rows()
    lang, reason = query.get("lang") or None, query.get("reason") or None
    page = _int(query.get("page"), 0)
    found = filter_excluded(rows, lang, reason)
    reasons = sorted({r.get("reason") or "" for r in rows})
    langs = sorted({r.get("language") or "unknown" for r in rows})
    form = (f'<form method="get" action="/excluded"><label>language {_select("lang", langs, lang)}</label>'
            f'<label>reason {_select("reason", reasons, reason)}</label>'
            '<button type="submit" id="f-submit">filter</button></form>')
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.get("reason") or ""] = counts.get(r.get("reason") or "", 0) + 1
    summary = "".join(f"<tr><td>{_esc(k)}</td><td>{v}</td></tr>" for k, v in sorted(counts.items()))
    cols = ("url", "language", "stage", "reason", "filter", "signal", "value", "threshold")
    body_rows = "".join(
        '<tr class="excluded-row">' + "".join(f'<td class="c-{c}">{_esc(r.get(c))}</td>' for c in cols) + "</tr>"
        for r in found[page * PAGE_SIZE:(page + 1) * PAGE_SIZE])
    body = (form + f'<p id="count">{len(found)} of {len(rows)} excluded documents</p>'
            f'<table id="reasons"><tr><th>reason</th><th>documents</th></tr>{summary}</table><h2>Documents</h2>'
            f'<table id="excluded"><tr>{"".join(f"<th>{c}</th>" for c in cols)}</tr>{body_rows}</table>'
            + _pager("/excluded", {"lang": lang or "", "reason": reason or ""}, page, len(found)))
    return _layout("excluded documents", body)


# -- HTTP ------------------------------------------------------------------------------------

def parse_path(raw: str) -> tuple[list[str], dict[str, str]]:
    """Path segments (decoded) and query of a raw request target; Forbidden on traversal."""
    parts = urlsplit(raw)
    path = parts.path
    lowered = path.lower()
    if (not path.startswith("/") or path.startswith("//") or "\\" in path or "%2e" in lowered or "%2f" in lowered
            or "%5c" in lowered or "\x00" in path or "%00" in lowered):
        raise Forbidden(raw)
    segments = [unquote(p) for p in path.split("/")[1:]]
    if any(seg in (".", "..") or "/" in seg or "\\" in seg or seg.startswith(".") for seg in segments if seg):
        raise Forbidden(raw)
    query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    return [seg for seg in segments if seg != ""], query


class ViewHandler(BaseHTTPRequestHandler):
    server_version = "interleaf-view"
    index: ShardIndex  # set on the subclass by make_server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        log.info("view: %s", format % args)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _html(self, text: str, status: int = 200) -> None:
        self._send(status, text.encode("utf-8"), "text/html; charset=utf-8")

    def _error(self, status: HTTPStatus) -> None:
        self._html(_layout(f"{status.value} {status.phrase}", ""), status.value)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        try:
            segments, query = parse_path(self.path)
        except Forbidden:
            return self._error(HTTPStatus.FORBIDDEN)
        index = self.index
        try:
            if not segments:
                return self._html(page_index(index, query))
            if segments == ["favicon.ico"]:
                return self._send(204, b"", "image/x-icon")
            if segments == ["excluded"]:
                return self._html(page_excluded(index, query))
            if len(segments) == 2 and segments[0] == "doc" and segments[1] in index.by_key:
                return self._html(page_document(index, segments[1]))
            if len(segments) == 3 and segments[:2] == ["api", "doc"] and segments[2] in index.by_key:
                return self._send(200, json.dumps(index.document(segments[2]), ensure_ascii=False).encode(),
                                  "application/json; charset=utf-8")
            if len(segments) == 3 and segments[0] == "media":
                shard, member = segments[1], segments[2]
                ext = member.rsplit(".", 1)[-1].lower()
                if ext in IMAGE_TYPES and member in index.members.get(shard, {}):
                    return self._send(200, index.read_member(shard, member),
                                      IMAGE_TYPES.get(ext) or mimetypes.guess_type(member)[0] or "application/octet-stream")
            return self._error(HTTPStatus.NOT_FOUND)
        except Exception:  # a broken shard: say so, keep serving
            log.exception("view: error on %s", self.path)
            return self._error(HTTPStatus.INTERNAL_SERVER_ERROR)


def make_server(shards: str | Path, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """A server over one shard folder (not started: call serve_forever, or start_in_thread)."""
    index = ShardIndex.build(shards)
    handler = type("BoundViewHandler", (ViewHandler,), {"index": index})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def start_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="interleaf-view", daemon=True)
    thread.start()
    return thread


def server_url(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}"
