"""The guide tutorial in examples/ runs end to end in `runbook-bot shell --script` (a real subprocess)."""

from __future__ import annotations

from pathlib import Path

from tests.shell.test_shell_scripts import EXAMPLES, run_shell


def test_guide_tutorial_walks_a_section_and_scales_once_confirmed(tmp_path: Path, servers: dict[str, str]) -> None:
    code, out, report = run_shell(tmp_path, EXAMPLES / "guide-walkthrough.txt", servers=servers)
    assert code == 0, out
    assert "Slow Performance" in out
    assert report["deployments"]["production/email-dashboard"]["replicas"] == 5
