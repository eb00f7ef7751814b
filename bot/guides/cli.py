"""`runbook-bot import RUNBOOK.md [--out DIR] [--name NAME]`: the command-line side of the importer."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml
from pydantic import ValidationError

from bot import errors
from bot.catalog import Catalog, load_catalog
from bot.guides import output
from bot.guides.importer import RunbookRefused, import_runbook
from bot.runbooks.model import Procedure


def known_procedures(folder: Path) -> dict[str, Procedure]:
    """The procedures of `commands/` that validate; check-config reports the others."""
    procedures: dict[str, Procedure] = {}
    for path in sorted(folder.glob("*.yml")):
        try:
            procedure = Procedure.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError, ValidationError):
            continue
        procedures[procedure.name] = procedure
    return procedures


def run(runbook: Path, out: Path, name: str | None, *, commands_dir: Path, catalog_path: Path) -> int:
    try:
        text = runbook.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise errors.ConfigError([f"{runbook}: cannot read: {exc.strerror}"]) from exc
    catalog: Catalog | None
    try:
        catalog = load_catalog(catalog_path)
    except errors.ConfigError:
        catalog = None  # without a catalog every service is proposed new; the reviewer merges
        print(f"note: {catalog_path} did not load; proposing every service as new", file=sys.stderr)
    try:
        result = import_runbook(
            text, source=str(runbook), procedures=known_procedures(commands_dir), catalog=catalog, name=name
        )
    except RunbookRefused as exc:
        raise errors.ConfigError([str(exc)]) from exc
    written = output.write(result, out, catalog)
    print(output.summary(result, written))
    return 0
