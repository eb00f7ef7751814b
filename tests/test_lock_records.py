"""What a busy target's lock record holds in Redis, and how a busy answer words it: the procedure and
the service are data the phrase book words, and a record the previous version wrote (only its text,
during a rolling deploy) still reads as it did."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot import errors
from bot.coord import Coordinator
from bot.locks import RedisLocks
from bot.runbooks.locking import BusyError, Holder
from bot.settings import PROJECT_ROOT
from bot.slack.reply_views import ReplyViews
from bot.templating import PINGS, Templates, check_templates
from tests.phrase_books import reworded

TEMPLATES = PROJECT_ROOT / "templates"
LOCK = "kubernetes/production/mail-score-backend"
HOSTILE = "<!channel> <@U0SAMPLE> backend"


@pytest.fixture
async def prefix() -> str:
    return f"test-{uuid.uuid4().hex[:8]}:"


@pytest.fixture
async def coord(redis_url: str, prefix: str) -> AsyncIterator[Coordinator]:
    c = Coordinator(redis_url, timeout=2, prefix=prefix)
    yield c
    await c.close()


def _busy_answer(templates: Templates, holder: Holder) -> str:
    views = ReplyViews(templates)
    busy = BusyError(holder.service, holder, errors.Said("confirm_when_finished"))
    text, blocks = views.error(views.said(busy.said))
    return text + json.dumps(blocks, ensure_ascii=False)


async def test_a_lock_records_what_holds_it_as_data_and_the_book_words_it(coord: Coordinator) -> None:
    locks = RedisLocks(coord)
    await locks.acquire(LOCK, owner="U0ALICE", procedure="scale", service="backend", ttl_seconds=60, execution="e1")

    busy = await locks.acquire(
        LOCK, owner="U0BOB", procedure="restart", service="backend", ttl_seconds=60, execution="e2"
    )

    assert isinstance(busy, Holder)
    assert (busy.owner, busy.procedure, busy.service, busy.execution) == ("U0ALICE", "scale", "backend", "e1")
    assert errors.plain(busy.describe()) == "`scale` on backend by @U0ALICE, started 0 min ago"
    shown = _busy_answer(Templates(TEMPLATES), busy)
    assert "`scale` on backend by <@U0ALICE>, started 0 min ago" in shown
    raw = await coord.lock_holder(LOCK)
    assert raw is not None
    # The previous version reads only `detail`: a replica of it, mid-deploy, still says who holds the lock.
    assert json.loads(raw)["detail"] == "`scale` on backend"


async def test_a_lock_record_written_by_the_previous_version_still_reads_in_a_busy_answer(
    coord: Coordinator, redis_url: str, prefix: str
) -> None:
    before = {
        "token": "t",
        "owner": "U0ALICE",
        "since": time.time() - 130,
        "detail": "`scale` on backend",
        "execution": "e1",
    }
    client = aioredis.from_url(redis_url)
    try:
        await client.set(f"{prefix}lock:{LOCK}", json.dumps(before), ex=60)
    finally:
        await client.aclose()
    locks = RedisLocks(coord)

    for holder in (
        await locks.holder(LOCK),
        await locks.acquire(
            LOCK, owner="U0BOB", procedure="restart", service="backend", ttl_seconds=60, execution="e2"
        ),
    ):
        assert isinstance(holder, Holder)
        assert (holder.procedure, holder.detail, holder.execution) == (None, "`scale` on backend", "e1")
        assert errors.plain(holder.describe()) == "`scale` on backend by @U0ALICE, started 2 min ago"
        assert "`scale` on backend by <@U0ALICE>, started 2 min ago" in _busy_answer(Templates(TEMPLATES), holder)


async def test_a_team_rewords_what_holds_a_lock_and_a_hostile_service_never_pings(
    coord: Coordinator, tmp_path: Path
) -> None:
    ours = reworded(tmp_path, lock_for="{{ service }} is in the middle of {{ procedure }}")
    assert check_templates(ours.dir, {}) == []
    locks = RedisLocks(coord)
    await locks.acquire(LOCK, owner="U0ALICE", procedure="scale", service=HOSTILE, ttl_seconds=60, execution="e1")

    holder = await locks.holder(LOCK)

    assert holder is not None
    shown = _busy_answer(ours, holder)
    assert "&lt;!channel&gt; &lt;@U0SAMPLE&gt; backend is in the middle of `scale`" in shown
    assert not any(ping in shown for ping in PINGS)
