"""What a busy answer says holds the target: the lock record's procedure and service, worded by the
phrase book; a record written by the previous version keeps its text and is said as it is."""

from __future__ import annotations

import time

from bot import errors
from bot.runbooks.locking import BusyError, Holder


def test_a_holder_recorded_as_data_is_said_by_the_book() -> None:
    holder = Holder(owner="U0BOB", since=time.time() - 185, procedure="scale", service="backend", detail="old")

    assert holder.held_for() == errors.Said("lock_for", procedure=errors.Code("scale"), service="backend")
    assert errors.plain(holder.describe()) == "`scale` on backend by @U0BOB, started 3 min ago"


def test_a_record_from_before_keeps_its_text() -> None:
    holder = Holder(owner="U0BOB", since=time.time() - 185, procedure=None, service="backend", detail="`scale` on x")

    assert holder.held_for() == "`scale` on x"
    assert errors.plain(holder.describe()) == "`scale` on x by @U0BOB, started 3 min ago"


def test_a_busy_refusal_names_the_target_what_holds_it_and_what_to_do() -> None:
    holder = Holder(owner="U0BOB", since=time.time() - 185, procedure="scale", service="backend")

    busy = BusyError("backend", holder, errors.Said("confirm_when_finished"))

    assert busy.message == (
        "backend is being changed right now (`scale` on backend by @U0BOB, started 3 min ago)."
        " Click Confirm again when it finishes."
    )
    assert busy.holder is holder
