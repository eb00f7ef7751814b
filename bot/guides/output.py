"""Write an import's result for review: the guide, catalog proposals, procedures and the report.

Output layout (mirrors the repository, so a reviewed file is copied to the same place):
    runbooks/<guide>.yml      the guide, loadable as it is once its services exist
    catalog-proposal.yml      new services, additions to known ones, compose services
    commands/<name>.yml       procedures the guide needs that are not built in
    import-report.md          mapped / total command lines, every line not imported and why
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.catalog import Catalog, Service, format_validation_error
from bot.guides.importer import ImportResult
from bot.guides.mappings import COMPOSE_NOTE

_OUTCOME_WORDS = {"mapped": "mapped", "no_action": "not imported: no action yet", "unsafe": "not imported: unsafe"}


def dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120, default_flow_style=False)


def guide_yaml(result: ImportResult) -> str:
    header = f"# Imported by `runbook-bot import` from {result.guide.source}. Review every step before enabling.\n"
    return header + dump(result.guide.model_dump(mode="json", exclude_defaults=True))


def catalog_proposal(result: ImportResult, catalog: Catalog | None) -> tuple[str, list[str]]:
    """The proposal file's text and the problems a new service entry has (it should have none)."""
    known = set(catalog.services) if catalog is not None else set()
    new = {n: e for n, e in result.services.items() if n not in known and e}
    additions = {n: e for n, e in result.services.items() if n in known and e}
    problems: list[str] = []
    for name, entry in new.items():
        try:
            Service.model_validate(entry)
        except ValidationError as exc:
            problems += format_validation_error(f"catalog-proposal.yml: services.{name}", exc)
    body: dict[str, Any] = {}
    if new:
        body["services"] = new
    if additions:
        body["service_additions"] = additions
    if result.compose_services:
        body["compose_services"] = result.compose_services
    header = (
        f"# Catalog entries proposed by `runbook-bot import` from {result.guide.source}.\n"
        "# services: new entries for chatops.yml; service_additions: keys to add to services it already has;\n"
        f"# compose_services: {COMPOSE_NOTE}.\n"
    )
    return header + (dump(body) if body else "{}\n"), problems


def report(result: ImportResult, problems: list[str] | None = None) -> str:
    total = len(result.lines)
    lines = [
        f"# Import report: {result.guide.title}",
        "",
        f"Source: `{result.guide.source}`; guide `{result.guide.name}` with {len(result.guide.sections)} sections.",
        "",
        f"**{result.mapped} / {total} command lines mapped** to procedures.",
        "",
    ]
    if result.other_blocks:
        other = ", ".join(f"{language} ({n})" for language, n in sorted(result.other_blocks.items()))
        lines += [f"Code blocks in other languages, not read as commands: {other}.", ""]
    for problem in problems or []:
        lines.append(f"- problem: {problem}")
    lines += ["| line | section | command | result |", "|---:|---|---|---|"]
    for line in result.lines:
        outcome = _OUTCOME_WORDS[line.outcome]
        what = ", ".join(f"`{s}`" for s in line.steps) if line.outcome == "mapped" else line.reason
        lines.append(f"| {line.line} | {_cell(line.section)} | `{_cell(line.text, 100)}` | {outcome}: {_cell(what)} |")
    return "\n".join(lines) + "\n"


def _cell(text: str, limit: int = 200) -> str:
    one_line = " ".join(text.split())
    short = one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"
    return short.replace("|", "\\|").replace("`", "'")


def write(result: ImportResult, out: Path, catalog: Catalog | None) -> list[Path]:
    """Write every output file; the paths written."""
    proposal, problems = catalog_proposal(result, catalog)
    files: dict[Path, str] = {
        out / "runbooks" / f"{result.guide.name}.yml": guide_yaml(result),
        out / "catalog-proposal.yml": proposal,
        out / "import-report.md": report(result, problems),
    }
    for name, procedure in result.procedures.items():
        files[out / "commands" / f"{name}.yml"] = f"# Needed by {result.guide.name}: {COMPOSE_NOTE}.\n" + dump(
            procedure
        )
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(files)


def summary(result: ImportResult, written: list[Path]) -> str:
    refused = [line for line in result.lines if line.outcome != "mapped"]
    text = [f"{result.guide.name}: {result.mapped} / {len(result.lines)} command lines mapped"]
    text += [f"  not imported, line {line.line}: {line.text[:80]} — {line.reason}" for line in refused]
    text += [f"wrote {path}" for path in written]
    return "\n".join(text)
