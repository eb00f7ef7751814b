"""What start-up compiles is kept on disk for the next process (bot/compiled.py, RUNBOOK_CACHE_DIR):
templates and phrases, and the phrase keys read from the code. The next process reads what is still
valid, compiles afresh what was edited, and a broken or unwritable cache only means compiling."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot import compiled
from bot.catalog import read_yaml
from bot.phrase_uses import Use, phrase_uses
from bot.settings import PROJECT_ROOT
from tests.cli_runs import check_config_process

# A process that renders one template and says one phrase of the folder given, with the cache folder given.
RENDER = """
import sys
from pathlib import Path
from bot import compiled, errors, logs
from bot.templating import Templates
logs.configure(level="INFO", fmt="json", secrets=[])
compiled.use_cache_dir(Path(sys.argv[1]))
templates = Templates(Path(sys.argv[2]))
print(templates.render("note", {"word": "<hello>"}).text)
print(templates.plain(errors.Said("greeting", name="ops")))
"""
NOTE = "text: {{ ('note: ' ~ word) | q }}\nblocks:\n  - {type: section, text: {type: mrkdwn, text: {{ word | q }}}}\n"
GREETING = 'greeting: "hello {{ name }}"\n'


def _templates(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "note.yml.j2").write_text(NOTE, encoding="utf-8")
    (folder / "phrases.yml").write_text(GREETING, encoding="utf-8")
    return folder


def _next_process(cache: Path, templates: Path) -> list[str]:
    done = subprocess.run(  # noqa: S603 - our own package
        [sys.executable, "-c", RENDER, str(cache), str(templates)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def _entries(cache: Path) -> dict[str, int]:
    return {str(path.relative_to(cache)): path.stat().st_mtime_ns for path in cache.rglob("*") if path.is_file()}


def test_the_next_process_reads_the_compiled_template_and_phrase_and_writes_nothing(tmp_path: Path) -> None:
    cache, templates = tmp_path / "cache", _templates(tmp_path)
    assert _next_process(cache, templates) == ["note: <hello>", "hello ops"]
    kept = _entries(cache)
    assert any("template-" in name for name in kept) and any("phrase-" in name for name in kept)

    assert _next_process(cache, templates) == ["note: <hello>", "hello ops"]
    assert _entries(cache) == kept  # read, not compiled and written again


def test_an_edited_template_and_phrase_are_compiled_afresh_by_the_next_process(tmp_path: Path) -> None:
    cache, templates = tmp_path / "cache", _templates(tmp_path)
    _next_process(cache, templates)

    (templates / "note.yml.j2").write_text(NOTE.replace("note: ", "edited: "), encoding="utf-8")
    (templates / "phrases.yml").write_text(GREETING.replace("hello", "welcome"), encoding="utf-8")

    assert _next_process(cache, templates) == ["edited: <hello>", "welcome ops"]


def test_entries_that_cannot_be_read_are_compiled_again_and_replaced(tmp_path: Path) -> None:
    cache, templates = tmp_path / "cache", _templates(tmp_path)
    _next_process(cache, templates)
    torn = {name: b"j2\x00torn" for name in _entries(cache)}
    for name, data in torn.items():
        (cache / name).write_bytes(data)

    assert _next_process(cache, templates) == ["note: <hello>", "hello ops"]
    assert all((cache / name).read_bytes() != data for name, data in torn.items())


def test_a_cache_folder_that_cannot_be_written_only_means_compiling(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file where the folder would be", encoding="utf-8")

    assert _next_process(not_a_folder, _templates(tmp_path)) == ["note: <hello>", "hello ops"]


@pytest.fixture
def disk_cache(tmp_path: Path) -> Iterator[Path]:
    """This process's cache folder pointed at a fresh one for the test, and back after it."""
    before = compiled.DISK.folder
    compiled.use_cache_dir(tmp_path / "cache")
    yield tmp_path / "cache"
    compiled.DISK.use(before)


def _package(root: Path, source: str) -> Path:
    package = root / "bot"
    package.mkdir(parents=True)
    (package / "quiet.py").write_text("VALUE = 1\n", encoding="utf-8")
    (package / "says.py").write_text(source, encoding="utf-8")
    return package


SAYS = 'from bot import errors\nraise errors.UserError("request_expired", name=x)\n'


def test_phrase_uses_are_read_from_disk_for_the_same_source_and_again_for_an_edited_one(
    disk_cache: Path, tmp_path: Path
) -> None:
    first = phrase_uses(_package(tmp_path / "a", SAYS))
    assert first == (Use("request_expired", "bot/says.py:2", frozenset({"name"})),)
    kept = _entries(disk_cache)
    assert len(kept) == 1  # the module that says something; the quiet one is not even parsed

    assert phrase_uses(_package(tmp_path / "b", SAYS)) == first  # same path and source: the kept entry
    assert _entries(disk_cache) == kept

    edited = SAYS.replace('"request_expired", name=x', '"unknown_name", kind=k, name=x')
    assert phrase_uses(_package(tmp_path / "c", edited)) == (
        Use("unknown_name", "bot/says.py:2", frozenset({"kind", "name"})),
    )


def test_a_configuration_file_read_again_is_new_data_and_an_edited_one_is_read_anew(tmp_path: Path) -> None:
    """Each file's parse is kept per process (every bot a test run starts reads the same catalog and procedures)."""
    path = tmp_path / "procedure.yml"
    path.write_text("name: restart\nsteps:\n  - action: restart\n    timeout: 30\n", encoding="utf-8")
    first = read_yaml(path)
    first["steps"].append({"action": "changed by one caller"})
    first["name"] = "changed"

    assert read_yaml(path) == {"name": "restart", "steps": [{"action": "restart", "timeout": 30}]}

    path.write_text("name: rollback\n", encoding="utf-8")
    assert read_yaml(path) == {"name": "rollback"}


def test_the_next_process_reads_a_clean_template_check_and_checks_an_edited_template_again(tmp_path: Path) -> None:
    templates, cache = tmp_path / "templates", tmp_path / "cache"
    shutil.copytree(PROJECT_ROOT / "templates", templates)
    env = {"RUNBOOK_TEMPLATES_DIR": str(templates), "RUNBOOK_CACHE_DIR": str(cache)}
    assert check_config_process(env).returncode == 0
    kept = _entries(cache)
    assert any("template-check-" in name for name in kept)

    assert check_config_process(env).returncode == 0
    assert _entries(cache) == kept  # the check's outcome read, not worked out and written again

    (templates / "incident_declared.yml.j2").write_text("text: {{ unclosed\n", encoding="utf-8")
    edited = check_config_process(env)
    assert edited.returncode == 2
    assert "incident_declared.yml.j2" in edited.stderr


def test_a_catalog_that_differs_only_where_no_sample_looks_reads_the_kept_check(tmp_path: Path) -> None:
    """The shell's overlay catalog points health URLs at local servers: the samples, so the check, are the same."""
    cache = tmp_path / "cache"
    assert check_config_process({"RUNBOOK_CACHE_DIR": str(cache)}).returncode == 0
    kept = _entries(cache)
    catalog = yaml.safe_load((PROJECT_ROOT / "chatops.yml").read_text(encoding="utf-8"))
    for name, service in catalog["services"].items():
        service["health_url"] = f"http://127.0.0.1:4321/{name}/health"
    overlay = tmp_path / "chatops.yml"
    overlay.write_text(yaml.safe_dump(catalog, sort_keys=False), encoding="utf-8")

    assert check_config_process({"RUNBOOK_CACHE_DIR": str(cache), "CHATOPS_CONFIG": str(overlay)}).returncode == 0

    added = set(_entries(cache)) - set(kept)
    assert len(added) == 1 and "template-check-" in next(iter(added))  # kept under this file too, not worked out
    assert not any("template-check-samples-" in name for name in added)


@dataclasses.dataclass(frozen=True)
class _Point:
    x: object


def test_canonical_spells_only_equal_data_alike_and_refuses_what_it_cannot_spell() -> None:
    assert compiled.canonical({"a": [1, (2.5, None)], "b": _Point(True)}) == compiled.canonical(
        {"b": _Point(True), "a": [1, (2.5, None)]}
    )
    different = [1, "1", 1.0, True, [1], (1,), {1: 1}, {"1": 1}, _Point(1), _Point("1"), {1}, frozenset({1})]
    assert len({compiled.canonical(value) for value in different}) == len(different)
    with pytest.raises(compiled.NotData):
        compiled.canonical({"render": print})
