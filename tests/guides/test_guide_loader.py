"""Guides load only when every step names a procedure and, when complete, parses against the catalog."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot import errors
from bot.catalog import Catalog
from bot.guides import output
from bot.guides.loader import load_guides
from bot.settings import PROJECT_ROOT
from tests.guides.helpers import PROCEDURES, SEEDS, seed


def _write(folder: Path, name: str, steps: list[dict[str, str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yml"
    guide = {"name": name, "title": "T", "sections": [{"title": "S", "steps": steps}]}
    path.write_text(yaml.safe_dump(guide), encoding="utf-8")
    return path


def test_the_shipped_guides_load_against_the_example_catalog(catalog: Catalog) -> None:
    guides = load_guides(PROJECT_ROOT / "runbooks", PROCEDURES, catalog)
    assert set(guides) == {"email-dashboard", "mail-score", "email-triage"}
    slow = guides["email-dashboard"].find_section("Slow Performance")
    assert slow is not None and slow.symptoms and slow.steps


def test_a_step_naming_no_procedure_is_refused_with_file_and_key(tmp_path: Path, catalog: Catalog) -> None:
    path = _write(tmp_path, "g", [{"title": "t", "phase": "resolution", "procedure": "reboot", "args": "backend"}])
    with pytest.raises(errors.ConfigError) as caught:
        load_guides(tmp_path, PROCEDURES, catalog)
    assert f"{path}: sections.0.steps.0: procedure `reboot` does not exist" in str(caught.value)


def test_a_step_whose_arguments_do_not_parse_is_refused(tmp_path: Path, catalog: Catalog) -> None:
    _write(tmp_path, "g", [{"title": "t", "phase": "resolution", "procedure": "scale", "args": "backend 999"}])
    with pytest.raises(errors.ConfigError, match="`scale backend 999` does not parse: `replicas` must be between"):
        load_guides(tmp_path, PROCEDURES, catalog)


def test_a_step_on_an_unknown_service_is_refused(tmp_path: Path, catalog: Catalog) -> None:
    _write(tmp_path, "g", [{"title": "t", "phase": "diagnosis", "procedure": "health", "args": "nope"}])
    with pytest.raises(errors.ConfigError, match="at most one service of the catalog"):
        load_guides(tmp_path, PROCEDURES, catalog)


def test_steps_with_placeholders_load(tmp_path: Path, catalog: Catalog) -> None:
    _write(tmp_path, "g", [{"title": "t", "phase": "resolution", "procedure": "restart", "args": "{service}"}])
    assert load_guides(tmp_path, PROCEDURES, catalog)["g"].sections[0].steps[0].placeholders == ["service"]


def test_an_unknown_key_names_the_file_and_the_key(tmp_path: Path, catalog: Catalog) -> None:
    path = tmp_path / "g.yml"
    path.write_text("name: g\ntitle: T\nsections: [{title: S, stpes: []}]\n", encoding="utf-8")
    with pytest.raises(errors.ConfigError, match=r"g\.yml: sections\.0\.stpes: unknown key"):
        load_guides(tmp_path, PROCEDURES, catalog)


def test_no_guides_folder_means_no_guides(tmp_path: Path, catalog: Catalog) -> None:
    assert load_guides(tmp_path / "absent", PROCEDURES, catalog) == {}


@pytest.mark.parametrize("file", ["000_4ceb288fd9bd6c47.txt", "001_5f537cd5f3c60730.txt", "004_264deb7c06170a7f.txt"])
def test_imported_guide_loads_once_its_proposed_services_are_in_the_catalog(
    file: str, catalog: Catalog, tmp_path: Path
) -> None:
    result = seed(file, catalog)
    output.write(result, tmp_path, catalog)
    proposal = yaml.safe_load((tmp_path / "catalog-proposal.yml").read_text(encoding="utf-8")) or {}
    data = catalog.model_dump(mode="json")
    data["services"] |= proposal.get("services", {})
    for name, additions in proposal.get("service_additions", {}).items():
        data["services"][name] = {**data["services"][name], **additions}
    merged = Catalog.model_validate(data)
    guides = load_guides(tmp_path / "runbooks", PROCEDURES, merged)
    assert set(guides) == {SEEDS[file]}


def test_the_pending_compose_guides_are_valid_and_name_only_known_or_templated_procedures() -> None:
    from bot.guides.mappings import BUILT_IN_STEPS, PROCEDURE_TEMPLATES
    from bot.guides.model import Guide

    for path in sorted((PROJECT_ROOT / "runbooks" / "pending").glob("*.yml")):
        guide = Guide.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        for section in guide.sections:
            for step in section.steps:
                assert step.procedure in {*PROCEDURES, *PROCEDURE_TEMPLATES, *BUILT_IN_STEPS}, (path, step)
                assert not step.placeholders, (path, step)
