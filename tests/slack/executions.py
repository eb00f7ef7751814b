"""The execution the message tests show: Alice's `scale backend 5`, changed per test by keyword."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.runbooks.executions import Execution, State

AT = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def execution(state: State = State.RUNNING, **fields: Any) -> Execution:
    shown = Execution(
        id=uuid.UUID(int=1),
        procedure="scale",
        args={"service": "backend", "replicas": 5},
        service="backend",
        lock_key=None,
        requester="U0ALICE",
        channel_id="C0OPS",
        approval="none",
        state=state,
        created_at=AT,
        expires_at=AT + timedelta(minutes=5),
        command="scale backend 5",
    )
    return replace(shown, **fields)
