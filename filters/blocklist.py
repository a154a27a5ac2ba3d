"""URL / domain block list, in the UT1 blacklist layout or as plain files.

``filters.blocklist`` lists paths: a UT1 root (``<root>/<category>/domains`` and ``urls``),
one category folder, or a plain file of domains and URLs (category = file stem). A domain
blocks itself and its subdomains; a URL entry (``host/path``) blocks that path and below.
Tag: ``blocklist.<category>`` = 1 for the categories the URL hits. Select: drop on any hit
when ``select.blocklist`` is true. Lists are loaded once per Python worker.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from filters.base import DocumentFilter, Verdict, register
from filters.settings import SelectConfig
from filters.text import TextView
from schemas import Document


def _entries(path: Path) -> list[str]:
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip().lower()
            if line and not line.startswith("#"):
                out.append(line)
    return out


def _strip(host: str) -> str:
    host = host.rstrip(".")
    return host[4:] if host.startswith("www.") else host


class BlockList:
    def __init__(self) -> None:
        self.domains: dict[str, set[str]] = {}
        self.urls: dict[str, set[str]] = {}

    def add(self, entry: str, category: str) -> None:
        entry = entry.split("://", 1)[-1]
        if "/" in entry.rstrip("/"):
            self.urls.setdefault(_strip(entry.rstrip("/")), set()).add(category)
        else:
            self.domains.setdefault(_strip(entry.rstrip("/")), set()).add(category)

    def add_path(self, path: str | Path, categories: set[str]) -> None:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"block list not found: {path}")
        if path.is_file():
            if not categories or path.stem in categories:
                for entry in _entries(path):
                    self.add(entry, path.stem)
            return
        folders = [path] if (path / "domains").exists() or (path / "urls").exists() else \
            sorted(p for p in path.iterdir() if p.is_dir())
        for folder in folders:
            if categories and folder.name not in categories:
                continue
            for name in ("domains", "urls"):
                if (folder / name).is_file():
                    for entry in _entries(folder / name):
                        self.add(entry, folder.name)

    def match(self, url: str) -> list[str]:
        """Categories that block ``url`` (sorted; empty when none)."""
        try:
            parts = urlsplit(url)
            host = _strip((parts.hostname or "").lower())
        except ValueError:
            return []
        hits: set[str] = set()
        labels = host.split(".")
        for i in range(len(labels) - 1):  # the host and its parents, never a bare TLD
            hits |= self.domains.get(".".join(labels[i:]), set())
        if self.urls:
            path = host
            for segment in parts.path.strip("/").split("/"):
                if not segment:
                    break
                path = f"{path}/{segment.lower()}"
                hits |= self.urls.get(path, set())
        return sorted(hits)


@lru_cache(maxsize=4)
def load_blocklist(paths: tuple[str, ...], categories: tuple[str, ...]) -> BlockList:
    blocklist = BlockList()
    for path in paths:
        blocklist.add_path(path, set(categories))
    return blocklist


@register
class BlocklistFilter(DocumentFilter):
    name = "blocklist@1"

    def _list(self) -> BlockList:
        return load_blocklist(tuple(self.settings.blocklist), tuple(self.settings.blocklist_categories))

    def setup(self) -> None:
        self._list()

    def tag(self, doc: Document, view: TextView) -> None:
        if not self.settings.blocklist:
            return
        for category in self._list().match(doc.url):
            doc.signals[f"blocklist.{category}"] = 1.0

    def select(self, doc: Document, select: SelectConfig) -> Verdict | None:
        if not select.blocklist:
            return None
        for key in sorted(doc.signals):
            if key.startswith("blocklist.") and doc.signals[key]:
                return Verdict(self.name, key.split(".", 1)[1], key, 1.0, "listed")
        return None
