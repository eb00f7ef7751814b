"""kill-long-queries and terminate-queries take how long a query has run as a duration: `90s`, `15m`,
`2h`, and a bare number in minutes as runbooks write it (`kill-long-queries backend 5`)."""

from __future__ import annotations

import pytest

from bot import errors
from bot.catalog import Catalog
from bot.runbooks import parser
from bot.runbooks.model import Procedure


@pytest.mark.parametrize(
    ("command", "seconds"),
    [
        ("kill-long-queries backend", 300),
        ("kill-long-queries backend 15", 900),
        ("kill-long-queries backend 90s", 90),
        ("kill-long-queries backend 2h", 7200),
        ("terminate-queries backend 5", 300),
        ("terminate-queries backend 10s", 10),
    ],
)
def test_a_threshold_is_a_duration_and_a_bare_number_is_minutes(
    command: str, seconds: int, procedures: dict[str, Procedure], catalog: Catalog
) -> None:
    assert parser.parse(command, procedures, catalog).args["older_than"] == seconds


@pytest.mark.parametrize("threshold", ["9s", "0", "25h", "5x", "-1"])
def test_a_threshold_too_short_too_long_or_not_a_duration_is_refused_with_the_usage(
    threshold: str, procedures: dict[str, Procedure], catalog: Catalog
) -> None:
    for name in ("kill-long-queries", "terminate-queries"):
        with pytest.raises(errors.UserError) as refused:
            parser.parse(f"{name} backend {threshold}", procedures, catalog)
        assert refused.value.usage == procedures[name].usage_line()
