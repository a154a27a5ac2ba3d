"""Our main text vs trafilatura's on trafilatura's own evaluation snippets, same run."""

from __future__ import annotations

import json

import pytest

from pipeline.extract.charset import decode_html
from pipeline.extract.html import extract_document
from schemas.document import TextNode

trafilatura = pytest.importorskip("trafilatura")


def normalize(text: str) -> str:
    return " ".join(text.split())


def score(text: str, entry: dict) -> tuple[int, int]:
    text = normalize(text)
    contained = sum(normalize(s) in text for s in entry["with"])
    avoided = sum(normalize(s) not in text for s in entry["without"])
    return contained, avoided


def test_ours_at_least_as_good_as_trafilatura(shared_data) -> None:
    folder = shared_data / "html" / "trafilatura"
    evaldata = json.loads((folder / "evaldata_subset.json").read_text(encoding="utf-8"))
    ours = [0, 0]
    theirs = [0, 0]
    for url, entry in evaldata.items():
        html, _ = decode_html((folder / "html" / entry["file"]).read_bytes(), None)
        extracted = extract_document(html, url)
        our_text = "\n".join(n.text for n in extracted.nodes if isinstance(n, TextNode))
        for totals, text in ((ours, our_text), (theirs, trafilatura.extract(html, url=url) or "")):
            contained, avoided = score(text, entry)
            totals[0] += contained
            totals[1] += avoided
    n_with = sum(len(e["with"]) for e in evaldata.values())
    n_without = sum(len(e["without"]) for e in evaldata.values())
    print(
        f"\nwith-snippets contained: ours {ours[0]}/{n_with}, trafilatura {theirs[0]}/{n_with}"
        f"\nwithout-snippets avoided: ours {ours[1]}/{n_without}, trafilatura {theirs[1]}/{n_without}"
    )
    assert ours[0] >= theirs[0]
    assert ours[1] >= theirs[1]


def test_goose3_pages_held_out(shared_data) -> None:
    """A second, held-out set (goose3's news pages, never used to tune): the first 100
    characters of goose3's expected body text must appear in the main text."""
    folder = shared_data / "html" / "goose3" / "content"
    ours = theirs = total = 0
    for path in sorted(folder.glob("*.html")):
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        expected = normalize(meta["expected"].get("cleaned_text") or "")[:100]
        if not expected:
            continue
        total += 1
        html, _ = decode_html(path.read_bytes(), None)
        extracted = extract_document(html, meta["url"])
        ours += expected in normalize("\n".join(n.text for n in extracted.nodes if isinstance(n, TextNode)))
        theirs += expected in normalize(trafilatura.extract(html, url=meta["url"]) or "")
    print(f"\ngoose3 expected-text prefix found: ours {ours}/{total}, trafilatura {theirs}/{total}")
    assert ours >= theirs
