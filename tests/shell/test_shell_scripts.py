"""`runbook-bot shell --script …` end to end: the tutorials in examples/ and the sandbox cluster's state at
exit (the shell writes it to $RUNBOOK_SHELL_REPORT). Two tests run the README's command in a real subprocess
(the scale tutorial on embedded defaults, and a session typed on stdin); the rest run the same scripts in
the test's process (`run_script`, tests/shell/conftest.py), which spares each an interpreter start-up."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.settings import PROJECT_ROOT
from tests.readme_table import diagnosis_commands
from tests.shell.conftest import RunScript

EXAMPLES = PROJECT_ROOT / "examples"
BACKEND = "mail-score-production/mail-score-backend"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def run_shell(
    tmp_path: Path,
    script: Path | None = None,
    *,
    stdin: str | None = None,
    servers: dict[str, str] | None = None,
) -> tuple[int, str, Any]:
    """Run `python -m bot.cli shell` in a subprocess on its own data dir; (exit code, stdout, cluster report)."""
    report = tmp_path / "report.json"
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "RUNBOOK_DATA_DIR": str(tmp_path / "data"),
        "RUNBOOK_SHELL_REPORT": str(report),
        **(servers or {}),
    }
    args = [sys.executable, "-m", "bot.cli", "shell"] + (["--script", str(script)] if script else [])
    done = subprocess.run(  # noqa: S603 - our own interpreter and module, no shell
        args,
        cwd=PROJECT_ROOT,
        env=env,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    data = json.loads(report.read_text(encoding="utf-8")) if report.exists() else None
    return done.returncode, done.stdout + done.stderr, data


def write_script(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "script.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_scale_tutorial_leaves_backend_at_five_replicas(tmp_path: Path) -> None:
    code, out, report = run_shell(tmp_path, EXAMPLES / "scale-with-confirmation.txt")
    assert code == 0, out
    assert "alice@#ops> /runbook scale backend 5" in out
    assert "[1] Confirm  [2] Cancel" in out
    assert "(updated)" in out
    assert report["deployments"][BACKEND]["replicas"] == 5


async def test_script_that_stops_before_confirm_leaves_backend_at_three_replicas(
    tmp_path: Path, run_script: RunScript
) -> None:
    script = write_script(tmp_path, "# no confirm", "", "/runbook scale backend 5")
    code, out, report = await run_script(script)
    assert code == 0, out
    assert report["deployments"][BACKEND]["replicas"] == 3


async def test_rollback_tutorial_needs_bob_and_brings_back_the_first_template(run_script: RunScript) -> None:
    code, out, report = await run_script(EXAMPLES / "rollback-with-approval.txt")
    assert code == 0, out
    assert "bob@#ops> approve" in out
    backend = report["deployments"][BACKEND]
    # restart made revision 2 (with restartedAt); undo re-applies revision 1's template as revision 3.
    assert backend["revision"] == "3"
    assert RESTARTED_AT not in backend["template_annotations"]


async def test_incident_lifecycle_tutorial_runs_without_errors(run_script: RunScript) -> None:
    code, out, _ = await run_script(EXAMPLES / "incident-lifecycle.txt")
    assert code == 0, out
    assert "Incident #1 declared" in out
    assert "resolved" in out.lower()


async def test_maintenance_window_tutorial_runs_without_errors(run_script: RunScript) -> None:
    code, out, _ = await run_script(EXAMPLES / "maintenance-window.txt")
    assert code == 0, out
    assert "Database upgrade" in out


async def test_health_report_tutorial_shows_the_shell_world_and_its_fix_runs(run_script: RunScript) -> None:
    code, out, report = await run_script(EXAMPLES / "health-report.txt")
    assert code == 0, out
    # Every service's dependencies answer from 127.0.0.1: nothing unknown, unset or unresolvable.
    for missing in ("unknown", "not set", "DNS", "Cannot connect"):
        assert missing not in out, missing
    assert "Sandbox overlay" in out
    assert "MAIL_SCORE_DATABASE_URL = postgresql://" in out
    assert "frontend.health_url = http://127.0.0.1:" in out
    assert "🔴 backend — fail — prometheus: error rate" in out
    assert "🔴 frontend — fail — http: HTTP 503" in out
    assert "🟡 email-triage — warn — kubernetes: 2/3 ready" in out  # its crash-looping pod (the triage world)
    assert "bull:campaign-emails:waiting = 1500" in out  # and its queue, in the details
    assert "🟢 newsletter-postgres — ok" in out  # (HTTP greens could turn warn on a loaded machine)
    # `confirm` on the report's "restart frontend" button restarted it in the sandbox cluster.
    frontend = report["deployments"]["mail-score-production/mail-score-frontend"]
    assert RESTARTED_AT in frontend["template_annotations"]


async def test_script_fails_when_the_bot_refuses_a_line_or_a_line_is_unknown(
    tmp_path: Path, run_script: RunScript
) -> None:
    script = write_script(
        tmp_path,
        "/runbook scale backend 500",  # above the service's replica limit: an ephemeral warning
        "as carol",
        "frobnicate",  # neither a command nor a button
        "/runbook status backend",
        "expect no such text anywhere",
    )
    code, out, report = await run_script(script)
    assert code == 1
    assert "script failed (3)" in out
    assert "line 1:" in out and "line 3:" in out and "line 5:" in out
    assert report["deployments"][BACKEND]["replicas"] == 3


def test_terminal_session_ends_cleanly_at_exit(tmp_path: Path, servers: dict[str, str]) -> None:
    code, out, _ = run_shell(tmp_path, stdin="help\n/runbook help\nexit\n", servers=servers)
    assert code == 0, out
    assert "as bob" in out  # the help text
    assert "scale" in out  # the bot's own help, rendered from the ack


async def test_newsletter_compose_tutorial_restarts_and_scales_on_the_docker_fake(run_script: RunScript) -> None:
    code, out, report = await run_script(EXAMPLES / "newsletter-compose.txt")
    assert code == 0, out
    assert "alice@#ops> /runbook compose-scale worker 5" in out
    workers = sorted(name for name in report["containers"] if name.startswith("newsletter_worker_"))
    assert workers == ["newsletter_worker_1"]
    assert report["containers"]["newsletter_newsletter-app_1"] == "running"


# ── one tutorial per seed runbook (000–004): diagnosis, the fix, the notice ──


async def test_runbook_000_tutorial_diagnoses_the_dashboard_and_restarts_its_websocket_service(
    run_script: RunScript,
) -> None:
    code, out, report = await run_script(EXAMPLES / "runbook-000-email-dashboard.txt")
    assert code == 0, out
    assert re.search(r"db pool in use of email-dashboard = 0\.[34]\d*: ok", out)
    assert RESTARTED_AT in report["deployments"]["production/websocket-service"]["template_annotations"]
    assert "Email Dashboard slow to load has been resolved" in out


async def test_runbook_001_tutorial_finds_the_error_rate_and_rolls_back_with_bob(
    tmp_path: Path, run_script: RunScript
) -> None:
    code, out, report = await run_script(EXAMPLES / "runbook-001-mail-score.txt")
    assert code == 0, out
    assert "error rate of backend = 0.0" in out
    # The graph's chart; the daily health report (09:00 in the catalog's zone) adds its own when a run
    # spans that minute.
    charts = list((tmp_path / "data" / "shell-files").glob("*-backend-error-rate-6h.png"))
    assert charts and all(chart.read_bytes().startswith(b"\x89PNG") for chart in charts)
    assert any(f"saved to {chart}" in out for chart in charts)
    backend = report["deployments"][BACKEND]
    assert backend["revision"] == "3"
    assert RESTARTED_AT not in backend["template_annotations"]
    assert "Mail Score API returns 500s has been resolved" in out


async def test_runbook_002_tutorial_sees_the_backlog_and_scales_the_workers(run_script: RunScript) -> None:
    code, out, report = await run_script(EXAMPLES / "runbook-002-newsletter.txt")
    assert code == 0, out
    assert "1552 jobs in 3 queues of worker" in out
    workers = [name for name, state in report["containers"].items() if "worker" in name and state == "running"]
    assert len(workers) == 5
    assert "Maintenance #1 announced" in out or "announced in #incidents" in out


async def test_runbook_003_tutorial_restarts_the_helpdesk_api_under_an_incident(run_script: RunScript) -> None:
    code, out, report = await run_script(EXAMPLES / "runbook-003-helpdesk.txt")
    assert code == 0, out
    assert report["container_restarts"]["helpdesk_api_1"] == 1
    assert "Helpdesk API slow to answer has been resolved" in out


async def test_runbook_004_tutorial_sees_the_queue_and_restarts_the_model(run_script: RunScript) -> None:
    code, out, report = await run_script(EXAMPLES / "runbook-004-email-triage.txt")
    assert code == 0, out
    assert "bull:campaign-emails:waiting  1500" in out
    model = report["deployments"]["email-triage/email-classifier-model"]
    assert RESTARTED_AT in model["template_annotations"]
    assert "Classifier model upgrade" in out


def _overlay_url(out: str, env: str) -> str:
    """The local URL the shell printed for `env` at start-up (the sandbox overlay)."""
    found = re.search(rf"^  {env} = (\S+)$", out, re.MULTILINE)
    assert found, out
    return found.group(1)


async def _redis_figures(url: str) -> tuple[int, int, int]:
    """(cache keys, failed jobs, waiting jobs) in one of the shell world's Redis databases."""
    client = aioredis.from_url(url)
    try:
        cache = len([key async for key in client.scan_iter("cache:*")])
        return (
            cache,
            await client.llen("bull:campaign-emails:failed"),
            await client.llen("bull:campaign-emails:waiting"),
        )
    finally:
        await client.aclose()


@pytest.mark.slow
async def test_data_triage_tutorial_reads_and_fixes_the_shell_worlds_databases(
    tmp_path: Path, run_script: RunScript
) -> None:
    """Slow (about 20 s): terminate-queries waits until the world's query has run for 20 s."""
    code, out, _ = await run_script(EXAMPLES / "data-triage.txt")
    assert code == 0, out
    # PostgreSQL: three idle sessions and the never-ending query; only the query's session is terminated.
    terminated = re.search(r"session pid (\d+): `connected", out)
    assert terminated, out
    assert re.search(rf"^  {terminated.group(1)} +postgres +\d+[smh]\S* +SELECT pg_sleep\(\?\)$", out, re.MULTILINE)
    after = out[out.rindex("/runbook db-activity backend") :]
    assert "3 sessions on the database of backend: 0 active" in after and terminated.group(1) not in after
    # Redis, read back after the shell stopped: backend's 50 cache keys are gone; email-triage lost only
    # its failed jobs.
    assert "Unlinked 50 keys matching `cache:*`" in out
    assert await _redis_figures(_overlay_url(out, "MAIL_SCORE_REDIS_URL")) == (0, 0, 0)
    assert await _redis_figures(_overlay_url(out, "EMAIL_TRIAGE_REDIS_URL")) == (50, 0, 1500)
    # Prometheus: backend's error rate is over its fail threshold, and the chart is a PNG in the thread.
    assert re.search(r"error rate of backend = 0\.0\d+: fail \(above 0\.05\)", out)
    # The graph's chart; the daily health report (09:00 in the catalog's zone) adds its own when a run
    # spans that minute.
    charts = list((tmp_path / "data" / "shell-files").glob("*-backend-error-rate-6h.png"))
    assert charts and all(chart.read_bytes().startswith(b"\x89PNG") for chart in charts)


async def test_every_command_of_the_readme_diagnosis_table_answers_in_the_shell(
    tmp_path: Path, run_script: RunScript
) -> None:
    """Slow (about 100 s): one shell session types the table's commands one after another; the script fails
    on any answer that is an error."""
    commands = diagnosis_commands()
    script = write_script(tmp_path, *(f"/runbook {command}" for command in commands))
    code, out, _ = await run_script(script)
    assert code == 0, out
    assert all(f"> /runbook {command}\n" in out for command in commands)
    # Runbook 000's components are read on their own workloads, not on the dashboard's.
    assert "[email-ingestion-" in out and "[email-dashboard-export-" in out and "[email-dashboard-auth-" in out
    assert re.search(r"^  websocket-service-\S+ +1/1 +Running", out, re.MULTILINE)
