"""The status page tutorials in the shell (issue 23): the shell's Statuspage and PagerDuty fakes show the
public incident created, updated and resolved, and the page opened and resolved, once each; an incident
on two pages is posted and resolved on both."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.shell.test_shell_scripts import EXAMPLES, run_shell


@pytest.fixture
async def servers(database_url: str, redis_url: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "REDIS_PREFIX": f"shell-{uuid.uuid4().hex[:8]}:"}


def test_status_page_tutorial_creates_updates_and_resolves_the_public_incident_once(
    tmp_path: Path, servers: dict[str, str]
) -> None:
    code, out, _ = run_shell(tmp_path, EXAMPLES / "incident-status-page.txt", servers=servers)
    assert code == 0, out
    assert "Customers on page `mailscore01` would read" in out
    assert "spinc0000001 [investigating, impact critical] An outage of Mail Score API" in out
    assert "spinc0000002" not in out  # one public incident, however many steps
    assert "[resolved] [P1] Mail Score API returns 500s (events: trigger, resolve)" in out
    assert "Mail Score API: operational" in out


def test_an_incident_on_two_pages_is_posted_and_resolved_on_both(tmp_path: Path, servers: dict[str, str]) -> None:
    code, out, _ = run_shell(tmp_path, EXAMPLES / "incident-two-status-pages.txt", servers=servers)
    assert code == 0, out
    assert "Customers on page `mailscore01` would read" in out and "Customers on page `helpdesk01` would read" in out
    assert "spinc0000001 [resolved, impact critical] An outage of Mail Score API (page mailscore01)" in out
    assert "spinc0000002 [resolved, impact critical] An outage of Helpdesk API (page helpdesk01)" in out
    assert "spinc0000003" not in out  # one public incident per page, however many steps
