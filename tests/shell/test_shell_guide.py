"""The guide tutorial in examples/ runs end to end in `runbook-bot shell --script` (a real subprocess)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.shell.test_shell_scripts import EXAMPLES, run_shell


@pytest.fixture
async def shared_servers(database_url: str, redis_url: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "REDIS_PREFIX": f"shell-{uuid.uuid4().hex[:8]}:"}


def test_guide_tutorial_walks_a_section_and_scales_once_confirmed(
    tmp_path: Path, shared_servers: dict[str, str]
) -> None:
    code, out, report = run_shell(tmp_path, EXAMPLES / "guide-walkthrough.txt", servers=shared_servers)
    assert code == 0, out
    assert "Slow Performance" in out
    assert report["deployments"]["production/email-dashboard"]["replicas"] == 5
