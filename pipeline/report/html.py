"""The report page: one self-contained HTML file (inline CSS, plots as base64 PNG data URIs,
no script, no external URL), and stats.json beside it."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any, Callable

from pipeline.report import plots
from pipeline.report.stats import collect_stats

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1em 2em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .6em 0; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.not-run { color: #888; font-style: italic; }
.bad { color: #b00; font-weight: bold; }
img.plot { display: block; max-width: 100%; margin: .5em 0; }
nav a { margin-right: 1em; }
"""

TITLES = {
    "funnel": "Funnel per stage",
    "languages": "Languages",
    "clip_scores": "CLIP scores",
    "image_sizes": "Image sizes",
    "documents": "Document lengths",
    "dedup": "Deduplication clusters",
    "ocr": "OCR character error rate",
    "exclusions": "Excluded documents",
}


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{esc(fmt(c))}</td>' if isinstance(c, (int, float)) and not isinstance(c, bool)
                         else f"<td>{esc(fmt(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def counts_table(title: str, counts: dict[str, int] | None) -> str:
    if not counts:
        return f"<p>{esc(title)}: none</p>"
    return f"<h3>{esc(title)}</h3>" + table(["value", "count"], [[k, v] for k, v in counts.items()])


def img(png: bytes, alt: str) -> str:
    return f'<img class="plot" alt="{esc(alt)}" src="{plots.data_uri(png)}">'


def summary_table(hists: dict[str, dict[str, Any]]) -> str:
    rows = [[name, h["count"], h["min"], h["median"], h["mean"], h["max"]] for name, h in hists.items()]
    return table(["", "count", "min", "median≈", "mean", "max"], rows)


# -- sections --------------------------------------------------------------------------------

def section_funnel(s: dict[str, Any]) -> str:
    rows = []
    for st in s["stages"]:
        reasons = ", ".join(f"{k}: {v}" for k, v in st["dropped"].items()) or "–"
        rows.append([st["stage"], st["in"], st["out"], st["dropped_total"], reasons,
                     "yes" if st["balanced"] else "NO"])
    out = table(["stage", "in", "out", "dropped", "dropped by reason", "in = out + dropped"], rows)
    if not all(st["balanced"] for st in s["stages"]):
        out += '<p class="bad">Some stages do not balance: in ≠ out + dropped.</p>'
    labels = [st["stage"] for st in s["stages"]]
    out += img(plots.bar_chart(labels, {"in": [st["in"] for st in s["stages"]],
                                        "out": [st["out"] for st in s["stages"]],
                                        "dropped": [st["dropped_total"] for st in s["stages"]]},
                               "items in / out / dropped per stage", "items", horizontal=True, log=True),
               "funnel: in, out and dropped per stage")
    reasons = [(f"{st['stage']}: {k}", v) for st in s["stages"] for k, v in st["dropped"].items()]
    if reasons:
        out += img(plots.bar_chart([r for r, _ in reasons], {"dropped": [v for _, v in reasons]},
                                   "drops by stage and reason", "items", horizontal=True),
                   "drops by stage and reason")
    if s.get("shards"):
        out += "<h3>Shards</h3>" + table(["layout", "shards", "samples", "bytes"],
                                         [[k, v.get("num_shards"), v.get("num_samples"), v.get("num_bytes")]
                                          for k, v in s["shards"].items()])
    return out


def section_languages(s: dict[str, Any]) -> str:
    sources = {k: s[k] for k in ("pages", "shards", "excluded") if s.get(k) is not None}
    langs = sorted({lang for counts in sources.values() for lang in counts},
                   key=lambda lang: -sum(c.get(lang, 0) for c in sources.values()))
    rows = [[lang, *[sources[k].get(lang, 0) for k in sources]] for lang in langs]
    out = table(["language", *[{"pages": "extracted (pages/)", "shards": "in shards", "excluded": "excluded"}[k]
                               for k in sources]], rows)
    if langs:
        out += img(plots.bar_chart(langs[:30], {k: [v.get(lang, 0) for lang in langs[:30]] for k, v in sources.items()},
                                   "documents per language", "documents"), "documents per language")
    return out


def section_clip(s: dict[str, Any]) -> str:
    out = summary_table({"best score per image": s["best_score"], "every candidate": s["candidate_scores"]})
    out += img(plots.histogram(s["best_score"], "best CLIP score per image", "cosine similarity"),
               "CLIP best score histogram")
    out += img(plots.histogram(s["candidate_scores"], "CLIP score of every candidate text", "cosine similarity"),
               "CLIP candidate score histogram")
    out += counts_table("Status", s["status"]) + counts_table("Best text source", s["best_source"])
    out += counts_table("Model", s["models"])
    return out


def section_images(s: dict[str, Any]) -> str:
    out = f"<p>{s['urls']} image URLs.</p>"
    out += summary_table({"width (px)": s["width"], "height (px)": s["height"], "shorter side (px)": s["short_side"],
                          "bytes (original)": s["bytes"]})
    out += img(plots.histogram(s["short_side"], "shorter side of fetched images", "pixels", log_x=True),
               "image shorter side histogram")
    out += img(plots.histogram(s["bytes"], "image bytes (original)", "bytes", log_x=True), "image bytes histogram")
    out += counts_table("Status", s["status"]) + counts_table("Failure / drop reasons", s["reasons"])
    out += counts_table("Source", s["sources"]) + counts_table("Format", s["formats"])
    return out


def section_documents(s: dict[str, Any]) -> str:
    out = f"<p>{s['documents']} documents in shards/interleaved.</p>"
    out += summary_table({"words": s["words"], "characters": s["chars"], "images": s["images_per_document"],
                          "image files": s["image_files_per_document"]})
    out += img(plots.histogram(s["words"], "words per document", "words (CJK: characters)", log_x=True),
               "words per document histogram")
    out += img(plots.histogram(s["chars"], "characters per document", "characters", log_x=True),
               "characters per document histogram")
    out += img(plots.histogram(s["images_per_document"], "images per document", "images"),
               "images per document histogram")
    out += "<h3>By language</h3>" + table(["language", "documents", "words"],
                                          [[k, v["documents"], v["words"]] for k, v in s["by_language"].items()])
    return out


def section_dedup(s: dict[str, Any]) -> str:
    out = ""
    d = s.get("documents")
    if d is None:
        out += '<h3>Documents</h3><p class="not-run">not run</p>'
    else:
        out += (f"<h3>Documents</h3><p>{d['removed']} documents removed as duplicates, "
                f"{d['clusters']} clusters with duplicates.</p>")
        out += counts_table("Removed by reason", d["by_reason"]) + counts_table("Step", d["by_step"])
        out += table(["cluster size (documents)", "clusters"], [[k, v] for k, v in d["cluster_sizes"].items()])
        if d["cluster_sizes"]:
            out += img(plots.bar_chart(list(d["cluster_sizes"]), {"clusters": list(d["cluster_sizes"].values())},
                                       "document cluster sizes", "clusters", log=True), "document cluster sizes")
    i = s.get("images")
    if i is None:
        out += '<h3>Images</h3><p class="not-run">not run</p>'
    else:
        out += (f"<h3>Images</h3><p>{i['urls']} image URLs in {i['clusters']} clusters; "
                f"{i['repeated_urls']} repeated across documents.</p>")
        out += counts_table("Match", i["match"])
        out += table(["cluster size (URLs)", "clusters"], [[k, v] for k, v in i["cluster_sizes"].items()])
        if i["cluster_sizes"]:
            out += img(plots.bar_chart(list(i["cluster_sizes"]), {"clusters": list(i["cluster_sizes"].values())},
                                       "image cluster sizes", "clusters", log=True), "image cluster sizes")
    return out


def section_ocr(s: dict[str, Any]) -> str:
    out = f"<p>{fmt(s['samples'])} samples, engine {esc(s['engine'])}, CER overall {esc(fmt(s['cer_all']))}.</p>"
    groups = s["groups"]
    out += table(["group", "samples", "verified", "CER", "mean sample CER", "max sample CER"],
                 [[g, v["samples"], v["verified"], v["cer"], v["mean_sample_cer"], v["max_sample_cer"]]
                  for g, v in groups.items()])
    if groups:
        out += img(plots.bar_chart(list(groups), {"CER": [v["cer"] or 0.0 for v in groups.values()]},
                                   "character error rate per group", "CER"), "OCR CER per group")
    return out


def section_exclusions(s: dict[str, Any]) -> str:
    out = f"<p>{s['rows']} excluded documents in {s['files']} files.</p>"
    out += counts_table("By reason", s["by_reason"]) + counts_table("By stage", s["by_stage"])
    if s["by_reason"]:
        out += img(plots.bar_chart(list(s["by_reason"])[:30], {"documents": list(s["by_reason"].values())[:30]},
                                   "excluded documents by reason", "documents", horizontal=True), "exclusions by reason")
    return out


RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "funnel": section_funnel,
    "languages": section_languages,
    "clip_scores": section_clip,
    "image_sizes": section_images,
    "documents": section_documents,
    "dedup": section_dedup,
    "ocr": section_ocr,
    "exclusions": section_exclusions,
}


def render_html(stats: dict[str, Any]) -> str:
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
             'style-src \'unsafe-inline\'">',
             f"<title>interleaf report: {esc(stats.get('output'))}</title><style>{CSS}</style></head><body>",
             f"<h1>interleaf report</h1><p>Output root: <code>{esc(stats.get('output'))}</code></p>",
             "<nav>" + "".join(f'<a href="#{k}">{esc(t)}</a>' for k, t in TITLES.items()) + "</nav>"]
    for key, title in TITLES.items():
        section = stats.get(key) or {"available": False}
        body = RENDERERS[key](section) if section.get("available") else '<p class="not-run">not run</p>'
        parts.append(f'<section id="{key}"><h2>{esc(title)}</h2>{body}</section>')
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(output: str | Path, dest: str | Path | None = None) -> dict[str, Any]:
    """Collect the statistics of ``output`` and write DEST/stats.json and DEST/index.html
    (DEST defaults to OUTPUT/report). Returns the statistics."""
    output = Path(output)
    stats = collect_stats(output)
    dest = Path(dest) if dest else output / "report"
    dest.mkdir(parents=True, exist_ok=True)
    for name, text in (("stats.json", json.dumps(stats, indent=2, sort_keys=True, ensure_ascii=False)),
                       ("index.html", render_html(stats))):
        tmp = dest / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(dest / name)
    return stats
