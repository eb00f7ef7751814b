"""PNG line charts: a valid image, the thresholds drawn in their colours."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from bot import charts, errors
from bot.actions.prometheus import chart_thresholds, hours_before
from bot.catalog import PrometheusCheck
from bot.settings import PROJECT_ROOT
from bot.templating import Templates
from tests.phrase_books import reworded

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
        "hours before 2026-12-02 09:00 UTC",
        [charts.Line("service=backend", points)],
        [charts.Threshold("warn 0.01", 0.01, "#e0a800"), charts.Threshold("fail 0.05", 0.05, "#d32f2f")],
    )
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == (800, 360)
    assert pixels_near(image, is_fail_red) > 300  # a dashed line across the plot
    assert pixels_near(image, is_warn_amber) > 300


def test_chart_without_thresholds_has_no_threshold_colours() -> None:
    png = charts.line_chart("up", "hours before", [charts.Line("up", [(0.0, 1.0), (60.0, 1.0)])], [])
    image = Image.open(io.BytesIO(png))
    assert pixels_near(image, is_fail_red) == 0


def test_the_words_drawn_in_a_chart_are_the_phrase_books(tmp_path: Path) -> None:
    check = PrometheusCheck(name="error-rate", query="x", warn_above=0.01, fail_above=0.05)
    lines = [charts.Line("service=backend", [(1_764_666_000.0, 0.02)])]
    assert [t.label for t in chart_thresholds(check)] == ["warn 0.01", "fail 0.05"]
    assert hours_before(lines) == "hours before 2025-12-02 09:00 UTC"
    assert hours_before([]) == "hours before no data"

    book = reworded(
        tmp_path, chart_threshold="{{ level | upper }} at {{ value }}", chart_hours_before="Stunden vor {{ newest }}"
    )
    try:
        errors.use_phrase_book(book.plain)
        assert [t.label for t in chart_thresholds(check)] == ["WARN at 0.01", "FAIL at 0.05"]
        assert hours_before(lines) == "Stunden vor 2025-12-02 09:00"
    finally:
        errors.use_phrase_book(Templates(PROJECT_ROOT / "templates").plain)
