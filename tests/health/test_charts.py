"""PNG line charts: a valid image, the thresholds drawn in their colours."""

from __future__ import annotations

import io
from collections.abc import Callable

from PIL import Image

from bot import charts

Pixel = tuple[int, int, int]


def is_fail_red(p: Pixel) -> bool:
    """#d32f2f, anti-aliased against white: strongly red, little green or blue."""
    return p[0] > 180 and p[1] < 120 and p[2] < 120


def is_warn_amber(p: Pixel) -> bool:
    """#e0a800, anti-aliased: red and green high, blue low."""
    return p[0] > 190 and 140 < p[1] < 200 and p[2] < 90


def pixels_near(image: Image.Image, matches: Callable[[Pixel], bool]) -> int:
    rgb = image.convert("RGB").tobytes()
    return sum(1 for i in range(0, len(rgb), 3) if matches((rgb[i], rgb[i + 1], rgb[i + 2])))


def test_chart_is_a_png_with_both_thresholds_drawn() -> None:
    points = [(1_000.0 + 60 * i, 0.02 + 0.001 * i) for i in range(60)]
    png = charts.line_chart(
        "error rate of backend, last 1h",
        [charts.Line("service=backend", points)],
        [charts.Threshold("warn", 0.01, "#e0a800"), charts.Threshold("fail", 0.05, "#d32f2f")],
    )
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == (800, 360)
    assert pixels_near(image, is_fail_red) > 300  # a dashed line across the plot
    assert pixels_near(image, is_warn_amber) > 300


def test_chart_without_thresholds_has_no_threshold_colours() -> None:
    png = charts.line_chart("up", [charts.Line("up", [(0.0, 1.0), (60.0, 1.0)])], [])
    image = Image.open(io.BytesIO(png))
    assert pixels_near(image, is_fail_red) == 0
