"""The guide tutorial in examples/ runs end to end in the shell, as `runbook-bot shell --script` runs it."""

from __future__ import annotations

from tests.shell.conftest import RunScript
from tests.shell.test_shell_scripts import EXAMPLES


async def test_guide_tutorial_walks_a_section_and_scales_once_confirmed(run_script: RunScript) -> None:
    code, out, report = await run_script(EXAMPLES / "guide-walkthrough.txt")
    assert code == 0, out
    assert "Slow Performance" in out
    assert report["deployments"]["production/email-dashboard"]["replicas"] == 5
