"""docs/import-coverage.md: what importing the seed runbooks maps, and every line it leaves out."""

from __future__ import annotations

import collections
from collections.abc import Sequence

from bot.guides.importer import ImportResult

_WORDS = {"no_action": "no action yet", "unsafe": "unsafe"}


def coverage_markdown(results: Sequence[ImportResult]) -> str:
    lines = [
        "# Import coverage of the seed runbooks",
        "",
        "Generated from `tests/fixtures/runbooks/` by `runbook-bot import` (without a catalog, so every",
        "service is proposed). `tests/guides/test_import_golden.py` fails when this file is out of date;",
        "regenerate it with `UPDATE_GOLDEN=1 .venv/bin/pytest tests/guides/test_import_golden.py`.",
        "",
        "| runbook | guide | sections | command lines | mapped | no action yet | unsafe |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        counts = collections.Counter(line.outcome for line in r.lines)
        lines.append(
            f"| `{r.guide.source}` | `{r.guide.name}` | {len(r.guide.sections)} | {len(r.lines)} | "
            f"{counts['mapped']} | {counts['no_action']} | {counts['unsafe']} |"
        )
    total = sum(len(r.lines) for r in results)
    mapped = sum(r.mapped for r in results)
    lines += ["", f"**{mapped} / {total} command lines mapped** in all.", ""]
    procedures = collections.Counter(p.split()[0] for r in results for line in r.lines for p in line.steps)
    lines += ["## Procedures the mapped lines became", "", "| procedure | steps |", "|---|---:|"]
    lines += [f"| `{name}` | {n} |" for name, n in sorted(procedures.items(), key=lambda kv: (-kv[1], kv[0]))]
    # "runs an arbitrary command in a container (`npm run x`)" counts with its kind, without the command
    reasons = collections.Counter(
        (line.outcome, " ".join(line.reason.split(" (`")[0].split()))
        for r in results
        for line in r.lines
        if line.reason
    )
    lines += ["", "## Why lines were not imported", "", "| kind | reason | lines |", "|---|---|---:|"]
    lines += [
        f"| {_WORDS[outcome]} | {reason.replace('|', chr(92) + '|')} | {n} |"
        for (outcome, reason), n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return "\n".join(lines) + "\n"
