"""Plots of the report as PNG bytes: a matplotlib ``Figure`` drawn on its own Agg canvas
(no pyplot, no global state: safe in threads and servers)."""

from __future__ import annotations

import base64
import io
from typing import Any, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

SIZE = (7.0, 3.2)
DPI = 90


def _png(fig: Figure) -> bytes:
    canvas = FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.tight_layout()
    canvas.print_png(buf)
    return buf.getvalue()


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def bar_chart(labels: Sequence[str], series: dict[str, Sequence[float]], title: str, ylabel: str = "",
              horizontal: bool = False, log: bool = False) -> bytes:
    """Grouped (or, with one series, plain) bars."""
    fig = Figure(figsize=(SIZE[0], max(SIZE[1], 0.28 * len(labels) + 1)) if horizontal else SIZE, dpi=DPI)
    ax = fig.add_subplot()
    n = max(1, len(series))
    width = 0.8 / n
    positions = list(range(len(labels)))
    for i, (name, values) in enumerate(series.items()):
        offs = [p - 0.4 + width * (i + 0.5) for p in positions]
        if horizontal:
            ax.barh(offs, list(values), height=width, label=name)
        else:
            ax.bar(offs, list(values), width=width, label=name)
    if horizontal:
        ax.set_yticks(positions, list(labels), fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(ylabel)
        if log:
            ax.set_xscale("symlog")
    else:
        ax.set_xticks(positions, list(labels), rotation=30 if len(labels) > 4 else 0, ha="right" if len(labels) > 4 else "center",
                      fontsize=8)
        ax.set_ylabel(ylabel)
        if log:
            ax.set_yscale("symlog")
    if len(series) > 1:
        ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    return _png(fig)


def histogram(hist: dict[str, Any], title: str, xlabel: str, log_x: bool = False) -> bytes:
    """A histogram from stats' fixed bins (``edges``, ``counts``)."""
    edges, counts = hist["edges"], hist["counts"]
    fig = Figure(figsize=SIZE, dpi=DPI)
    ax = fig.add_subplot()
    if log_x:  # the first bin starts at 0: draw it from half the next edge
        edges = [edges[1] / 2 if i == 0 and len(edges) > 1 else e for i, e in enumerate(edges)]
    ax.stairs(counts, edges, fill=True)
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    if hist.get("count"):
        ax.set_title(f"{title} (n={hist['count']}, mean={hist['mean']:.3g}, median≈{hist['median']:.3g})", fontsize=10)
    else:
        ax.set_title(f"{title} (no values)", fontsize=10)
    return _png(fig)
