"""User text about to be stored (incident titles, maintenance purposes): stripped, and refused
naming the field when PostgreSQL could not store it or it is longer than the limit."""

from __future__ import annotations

import pytest

from bot import errors, text


def test_text_is_stored_stripped() -> None:
    assert text.checked("purpose", "  database upgrade \n", max_chars=16) == "database upgrade"


@pytest.mark.parametrize("typed", ["a\x00b", "\x00", "x\ud800", "\udfff", "\udc00y"])
def test_a_nul_byte_or_a_lone_surrogate_is_refused_naming_the_field(typed: str) -> None:
    with pytest.raises(errors.UserError) as refused:
        text.checked("purpose", typed, max_chars=100)

    assert "purpose" in refused.value.message


@pytest.mark.parametrize("typed", ["\ud7ff", "\ue000", "naïve ☃ 𝄞", "0"])
def test_characters_next_to_the_surrogates_are_stored(typed: str) -> None:
    assert text.checked("title", typed, max_chars=100) == typed


def test_the_limit_counts_the_stripped_text_and_is_inclusive() -> None:
    assert text.checked("title", " " + "x" * 10 + " ", max_chars=10) == "x" * 10

    with pytest.raises(errors.UserError) as refused:
        text.checked("title", "x" * 11, max_chars=10)
    assert "title" in refused.value.message
    assert "11" in refused.value.message and "10" in refused.value.message  # how long, and the limit
