"""The status page tutorials in the shell (issue 23): the shell's Statuspage and PagerDuty fakes show the
public incident created, updated and resolved, and the page opened and resolved, once each; then a
maintenance window announced as a Statuspage scheduled maintenance, moved and cancelled; an incident on
two pages is posted and resolved on both."""

from __future__ import annotations

from tests.shell.conftest import RunScript
from tests.shell.test_shell_scripts import EXAMPLES


async def test_status_page_tutorial_creates_updates_and_resolves_the_public_incident_once(
    run_script: RunScript,
) -> None:
    code, out, _ = await run_script(EXAMPLES / "incident-status-page.txt")
    assert code == 0, out
    assert "Customers on page `mailscore01` would read" in out
    assert "spinc0000001 [investigating, impact critical] An outage of Mail Score API" in out
    # One public incident, however many steps: the next id is the maintenance window's.
    assert out.index("spinc0000002") == out.index("spinc0000002 [scheduled, impact maintenance]")
    assert "[resolved] [P1] Mail Score API returns 500s (events: trigger, resolve)" in out
    assert "Mail Score API: operational" in out
    # The maintenance window became one scheduled maintenance, cancelled by marking it completed.
    assert "spinc0000002 [scheduled, impact maintenance] Scheduled maintenance of Mail Score API" in out
    assert "scheduled for 2030-12-01T21:00:00+00:00 until 2030-12-01T23:00:00+00:00" in out
    assert "scheduled for 2030-12-02T21:00:00+00:00 until 2030-12-03T00:00:00+00:00" in out  # moved
    assert "spinc0000002 [completed, impact maintenance]" in out
    assert "spinc0000003" not in out


async def test_an_incident_on_two_pages_is_posted_and_resolved_on_both(run_script: RunScript) -> None:
    code, out, _ = await run_script(EXAMPLES / "incident-two-status-pages.txt")
    assert code == 0, out
    assert "Customers on page `mailscore01` would read" in out and "Customers on page `helpdesk01` would read" in out
    assert "spinc0000001 [resolved, impact critical] An outage of Mail Score API (page mailscore01)" in out
    assert "spinc0000002 [resolved, impact critical] An outage of Helpdesk API (page helpdesk01)" in out
    assert "spinc0000003" not in out  # one public incident per page, however many steps
