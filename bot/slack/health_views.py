"""A health Report → Slack messages: a summary that always fits Slack's limits, details in the thread.

Slack allows 50 blocks per message, 3000 characters per section and 25 elements per actions
block. The summary shows one line per service (worst first) up to a budget of sections, and
up to a budget of button rows; everything else, and the per-check details, go to thread
replies, each of which is packed under the same limits. So the size of the catalog changes
the number of thread replies, never the validity of a message.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass

from slack_sdk.models.blocks import Block

from bot.health.model import SEVERITY, CheckResult, Report, ServiceHealth, State, Suggestion
from bot.ids import BlockId, suggestion_action_id, suggestion_value
from bot.slack import blocks as bk
from bot.slack.mrkdwn import escape, truncate

BUTTONS_PER_ROW = 25
SUMMARY_SECTIONS = 25  # service lines in the summary; the rest are in the thread
SUMMARY_BUTTON_ROWS = 10
THREAD_BLOCKS = 45  # below 50, leaving room for a heading
# Every button needs its own action_id within a message; the click listener matches them all.

ICON = {
    State.OK: ":large_green_circle:",
    State.WARN: ":large_yellow_circle:",
    State.FAIL: ":red_circle:",
    State.UNKNOWN: ":white_circle:",
}

Message = tuple[str, bk.Blocks]  # (fallback text, blocks)


@dataclass(frozen=True)
class Rendered:
    summary: Message
    thread: list[Message]


def pack(lines: Iterable[str], limit: int = bk.SECTION_TEXT) -> Iterator[str]:
    """Join lines into texts of at most `limit` characters (a too-long line is cut)."""
    current = ""
    for line in lines:
        line = truncate(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            yield current
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        yield current


def _by_severity(report: Report) -> list[ServiceHealth]:
    return sorted(report.services, key=lambda s: -SEVERITY[s.state])


def service_line(svc: ServiceHealth) -> str:
    deciding = svc.deciding
    figure = f"{escape(deciding.check)}: {escape(deciding.value)}" if deciding else "no checks"
    return f"{ICON[svc.state]} *{escape(svc.service)}* — {svc.state.value} — {figure}"


def check_line(c: CheckResult) -> str:
    return f"    {ICON[c.state]} {escape(c.check)}: {escape(c.value)}"


def overview(report: Report, title: str) -> str:
    # States no service is in are left out: "0 unknown" in a healthy report reads like a problem.
    states = (State.FAIL, State.UNKNOWN, State.WARN, State.OK)
    counts = ", ".join(f"{report.count(s)} {s.value}" for s in states if report.count(s)) or "no services"
    return f"{ICON[report.state]} *{escape(title)}: {report.state.value}* ({counts})"


def buttons(suggestions: list[tuple[str, Suggestion]], start: int) -> list[Block]:
    """Rows of ≤25 buttons; action_ids numbered from `start` so none repeats within a message."""
    made = []
    for i, (_, s) in enumerate(suggestions):
        made.append(
            bk.button(f"{s.procedure} {s.args}", suggestion_action_id(start + i), suggestion_value(s.procedure, s.args))
        )
    rows = [made[i : i + BUTTONS_PER_ROW] for i in range(0, len(made), BUTTONS_PER_ROW)]
    return [bk.actions(f"{BlockId.SUGGESTED_ACTIONS.value}-{start + i}", row) for i, row in enumerate(rows)]


def render(report: Report, *, title: str, procedures: Collection[str], when: str) -> Rendered:
    """Summary + thread replies. Only procedures that exist get a button (a catalog may lack one)."""
    ordered = _by_severity(report)
    suggestions = [(label, s) for label, s in report.suggestions() if s.procedure in procedures]
    sections = list(pack(service_line(s) for s in ordered))
    summary: list[Block] = [
        bk.header(title),
        bk.section(overview(report, title)),
        *(bk.section(text) for text in sections[:SUMMARY_SECTIONS]),
    ]
    shown_buttons = suggestions[: SUMMARY_BUTTON_ROWS * BUTTONS_PER_ROW]
    if shown_buttons:
        summary.append(bk.divider())
        summary.append(bk.section("*Suggested fixes* (each asks for confirmation as usual):"))
        summary.extend(buttons(shown_buttons, 0))
    notes = [when, f"checked in {report.elapsed_seconds:.1f} s", "details in the thread"]
    if len(sections) > SUMMARY_SECTIONS:
        notes.append(f"{len(ordered)} services, the rest listed in the thread")
    summary.append(bk.context(" · ".join(notes)))
    text = f"{title}: {report.state.value} ({report.count(State.FAIL)} failing)"
    return Rendered((text, bk.render(summary)), _thread(ordered, suggestions[len(shown_buttons) :], title))


def _thread(ordered: list[ServiceHealth], more: list[tuple[str, Suggestion]], title: str) -> list[Message]:
    lines: list[str] = []
    for svc in ordered:
        lines.append(service_line(svc))
        lines.extend(check_line(c) for c in svc.checks)
    blocks: list[Block] = [bk.section(text) for text in pack(lines)]
    blocks.extend(buttons(more, SUMMARY_BUTTON_ROWS * BUTTONS_PER_ROW))
    chunks = [blocks[i : i + THREAD_BLOCKS] for i in range(0, len(blocks), THREAD_BLOCKS)]
    return [
        (
            f"{title}: details {n + 1}/{len(chunks)}",
            bk.render([bk.context(f"Details {n + 1}/{len(chunks)}"), *chunk]),
        )
        for n, chunk in enumerate(chunks)
    ]
