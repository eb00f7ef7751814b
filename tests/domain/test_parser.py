"""The parser on its own: typed values or one UserError with the usage, never anything half-bound."""

from __future__ import annotations

import pytest

from bot import errors
from bot.catalog import Catalog
from bot.runbooks.parser import MAX_INPUT_CHARS, parse, parse_duration
from tests.domain.conftest import procedure

LOGS = procedure(
    "logs",
    destructive=False,
    channels=[],
    roles=["viewer"],
    params=[
        {"name": "service", "type": "service"},
        {"name": "tail", "type": "int", "min": 1, "max": 500, "default": 50, "required": False},
        {"name": "since", "type": "duration", "flag": True, "required": False, "max_seconds": 86400},
        {"name": "mode", "type": "enum", "choices": ["on", "off"], "flag": True, "required": False},
    ],
    steps=[{"action": "test.read"}],
)
SCALE = procedure(
    "scale",
    params=[
        {"name": "service", "type": "service"},
        {"name": "replicas", "type": "int", "within_service_replicas": True},
    ],
)
PROCEDURES = {"logs": LOGS, "scale": SCALE}


def test_positional_and_flag_arguments_are_typed(catalog: Catalog) -> None:
    parsed = parse("logs backend 100 --since 1h --mode=on", PROCEDURES, catalog)

    assert parsed.args == {"service": "backend", "tail": 100, "since": 3600, "mode": "on"}
    assert parsed.service == "backend"


def test_defaults_fill_what_was_not_given(catalog: Catalog) -> None:
    assert parse("LOGS frontend", PROCEDURES, catalog).args == {
        "service": "frontend",
        "tail": 50,
        "since": None,
        "mode": None,
    }


@pytest.mark.parametrize(
    "text",
    [
        "",
        "scael backend 3",
        "scale",
        "scale nosuchservice 3",
        "scale backend",
        "scale backend three",
        "scale backend 1_000",
        "scale backend 3 4",
        "logs backend --since",
        "logs backend --nope 1",
        "logs backend 0",
        "logs backend 501",
        "logs backend --since 2d",
        "logs backend --mode maybe",
        "logs 'backend",
        "logs " + "x" * MAX_INPUT_CHARS,
    ],
)
def test_bad_input_is_one_user_error(catalog: Catalog, text: str) -> None:
    with pytest.raises(errors.UserError):
        parse(text, PROCEDURES, catalog)


def test_replica_counts_are_bounded_by_the_services_limits(catalog: Catalog) -> None:
    limits = catalog.services["backend"].replicas
    assert parse(f"scale backend {limits.min}", PROCEDURES, catalog).args["replicas"] == limits.min
    assert parse(f"scale backend {limits.max}", PROCEDURES, catalog).args["replicas"] == limits.max
    for outside in (limits.min - 1, limits.max + 1):
        with pytest.raises(errors.UserError) as refused:
            parse(f"scale backend {outside}", PROCEDURES, catalog)
        assert refused.value.usage == SCALE.usage_line()


@pytest.mark.parametrize(("raw", "seconds"), [("30s", 30), ("5", 300), ("5m", 300), ("2h", 7200), ("1d", 86400)])
def test_durations(raw: str, seconds: int) -> None:
    assert parse_duration(raw) == seconds
