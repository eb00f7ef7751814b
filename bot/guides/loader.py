"""Load the reviewed guides (`runbooks/*.yml`) and check every step against the procedures and the catalog.

A step must name a procedure that exists (or a built-in such as `health`), and when its arguments are
complete they must parse exactly as the typed `/runbook` command would, so a guide can never offer a
button that fails on the first click. Steps with a `{placeholder}` are checked for the procedure only:
their value is chosen when the guide is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from bot import errors
from bot.catalog import Catalog, format_validation_error, read_yaml
from bot.guides.mappings import BUILT_IN_STEPS
from bot.guides.model import Guide, GuideStep
from bot.runbooks import parser
from bot.runbooks.model import Procedure


def step_problem(step: GuideStep, procedures: Mapping[str, Procedure], catalog: Catalog) -> str | None:
    if step.procedure not in procedures and step.procedure not in BUILT_IN_STEPS:
        return f"procedure `{step.procedure}` does not exist; known: {', '.join(sorted(procedures))}"
    if step.placeholders:
        return None
    if step.procedure in BUILT_IN_STEPS:
        words = parser.tokenize(step.args) if step.args else []
        if len(words) > 1 or (words and words[0] not in catalog.services):
            return f"`{step.command_text()}`: expects at most one service of the catalog"
        return None
    try:
        parser.parse(step.command_text(), procedures, catalog)
    except errors.UserError as exc:
        return f"`{step.command_text()}` does not parse: {exc.message}"
    return None


def check_guide(guide: Guide, source: str, procedures: Mapping[str, Procedure], catalog: Catalog) -> list[str]:
    problems: list[str] = []
    for s, section in enumerate(guide.sections):
        for i, step in enumerate(section.steps):
            problem = step_problem(step, procedures, catalog)
            if problem:
                problems.append(f"{source}: sections.{s}.steps.{i}: {problem}")
    return problems


def load_guides(folder: Path, procedures: Mapping[str, Procedure], catalog: Catalog) -> dict[str, Guide]:
    """Every guide in the folder (none when it does not exist), or a ConfigError listing every problem."""
    if not folder.is_dir():
        return {}
    guides: dict[str, Guide] = {}
    problems: list[str] = []
    for path in sorted(folder.glob("*.yml")) + sorted(folder.glob("*.yaml")):
        try:
            guide = Guide.model_validate(read_yaml(path))
        except errors.ConfigError as exc:
            problems.extend(exc.problems)
            continue
        except ValidationError as exc:
            problems.extend(format_validation_error(str(path), exc))
            continue
        if guide.name in guides:
            problems.append(f"{path}: name: `{guide.name}` is used by another guide; names must be unique")
            continue
        problems.extend(check_guide(guide, str(path), procedures, catalog))
        guides[guide.name] = guide
    if problems:
        raise errors.ConfigError(problems)
    return guides
