"""Line charts of Prometheus range queries as PNG (matplotlib, Agg backend: no display, no GUI toolkit).

Rendering is CPU work of a few hundred milliseconds, so callers run `line_chart` off the event loop.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    label: str
    points: Sequence[tuple[float, float]]  # (unix timestamp, value)


@dataclass(frozen=True)
class Threshold:
    label: str  # its legend, in the phrase book's words ("warn 0.01")
    value: float
    color: str


def line_chart(title: str, x_label: str, lines: Sequence[Line], thresholds: Sequence[Threshold]) -> bytes:
    """A PNG: one line per series over hours before the newest sample, each threshold a dashed horizontal
    line. The words drawn in it (title, axis, legends) are given, said by the caller's phrase book."""
    # Imported on the first chart, not at start-up: matplotlib is about a third of the bot's import time,
    # paid by every process (workers, replicas, the CLI) whether it ever draws a chart or not.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 3.6), dpi=100)  # a Figure, not pyplot: no global state shared across threads
    axes = figure.add_subplot()
    end = max((t for line in lines for t, _ in line.points), default=0.0)
    for line in lines:
        # Hours before the newest sample: reads the same at any time of day, and needs no date axis.
        hours = [(t - end) / 3600 for t, _ in line.points]
        axes.plot(hours, [v for _, v in line.points], label=line.label, linewidth=1.6)
    for threshold in thresholds:
        axes.axhline(
            threshold.value,
            color=threshold.color,
            linestyle="--",
            linewidth=1.2,
            label=threshold.label,
        )
    axes.set_title(title, fontsize=11)
    axes.set_xlabel(x_label)
    axes.grid(alpha=0.3)
    axes.set_ylim(bottom=0)
    if lines or thresholds:
        axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
