"""The phrase book (templates/phrases.yml): every error the bot says, worded outside Python."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from bot import errors
from bot.phrase_uses import Use, figures_formatted_in_python, phrase_uses, worded_in_python
from bot.settings import PROJECT_ROOT
from bot.slack.reply_views import ReplyViews
from bot.templating import PHRASES, Templates, check_phrases, check_templates

TEMPLATES = PROJECT_ROOT / "templates"


def _book_copy(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    return folder, yaml.safe_load((folder / PHRASES).read_text(encoding="utf-8"))


def _write(folder: Path, book: dict[str, str]) -> None:
    (folder / PHRASES).write_text(yaml.safe_dump(book, allow_unicode=True), encoding="utf-8")


def test_every_key_the_code_says_is_in_the_book_and_every_phrase_of_the_book_is_said() -> None:
    uses = phrase_uses()

    assert len({use.key for use in uses}) > 150  # the scan finds the raise sites (keys are literals)
    assert check_phrases(Templates(TEMPLATES), uses) == []


def test_no_error_is_worded_in_python() -> None:
    assert worded_in_python() == []


def test_no_figure_is_formatted_in_python_for_a_phrase() -> None:
    assert figures_formatted_in_python() == []


def test_a_figure_formatted_for_a_phrase_is_found_and_names_and_clock_times_are_not(tmp_path: Path) -> None:
    package = tmp_path / "bot"
    package.mkdir()
    (package / "figures.py").write_text(
        'errors.Said("no_answer_within", seconds=f"{limit:g}")\n'
        'errors.UserError("text_too_long", length=f"{n:,}", limit=limit)\n'
        'errors.Said("prometheus_value", limit=None if x is None else f"{x:.0%}")\n'
        'errors.Said("pg_running_since", since=f"{query_start:%H:%M:%S}")\n'
        'errors.Said("k8s_configmap_key_target", resource=f"configmap/{name}", key=key)\n'
        'errors.Said("health_prometheus", name=name, value=value)\n',
        encoding="utf-8",
    )

    assert figures_formatted_in_python(package) == ["bot/figures.py:1", "bot/figures.py:2", "bot/figures.py:3"]


def test_a_sentence_or_f_string_where_a_key_belongs_is_found(tmp_path: Path) -> None:
    package = tmp_path / "bot"
    package.mkdir()
    (package / "bad.py").write_text(
        'from bot import errors\nraise errors.UserError(f"Unknown {x}")\nraise errors.NotFoundError("No such thing.")\n'
        'raise errors.UserError("unknown_name", kind="service")\n',
        encoding="utf-8",
    )

    assert worded_in_python(package) == ["bot/bad.py:2", "bot/bad.py:3"]


def test_an_f_string_in_an_actions_change_line_is_found(tmp_path: Path) -> None:
    package = tmp_path / "bot"
    package.mkdir()
    (package / "action.py").write_text(
        'Change(f"container {name}", state, "restarted")\nChange("replicas", str(before), str(after))\n',
        encoding="utf-8",
    )
    (package / "said.py").write_text(
        'Change(errors.Said("compose_container", container=name), state, "restarted")\n', encoding="utf-8"
    )

    assert worded_in_python(package) == ["bot/action.py:1"]


def test_check_config_names_the_key_the_book_lacks_and_the_phrase_no_code_says(tmp_path: Path) -> None:
    folder, book = _book_copy(tmp_path)
    del book["request_expired"]
    book["never_said_anywhere"] = "Hello."
    _write(folder, book)

    problems = check_phrases(Templates(folder), phrase_uses())

    assert any("no phrase `request_expired`" in p and "bot/runbooks/engine.py:" in p for p in problems)
    assert any("phrase `never_said_anywhere` is said nowhere" in p for p in problems)


def test_a_field_a_raise_site_does_not_give_is_a_check_config_error_naming_the_key(tmp_path: Path) -> None:
    folder, book = _book_copy(tmp_path)
    book["request_expired"] = "Expired {{ when }}."
    _write(folder, book)

    problems = check_templates(folder, {})

    assert any("phrase `request_expired` uses when" in p and "bot/runbooks/engine.py:" in p for p in problems)


def test_a_phrase_that_does_not_parse_or_would_ping_is_a_check_config_error(tmp_path: Path) -> None:
    folder, book = _book_copy(tmp_path)
    book["request_expired"] = "Expired {% if %}."
    _write(folder, book)
    assert any("request_expired" in p for p in check_templates(folder, {}))

    book["request_expired"] = "Expired. <!channel>"
    _write(folder, book)
    assert any("phrase `request_expired`" in p and "ping" in p for p in check_templates(folder, {}))


def test_a_key_given_twice_in_the_book_is_a_check_config_error_naming_it(tmp_path: Path) -> None:
    folder, _ = _book_copy(tmp_path)
    with (folder / PHRASES).open("a", encoding="utf-8") as book:
        book.write('request_expired: "Too late."\n')

    problems = check_templates(folder, {})

    assert any("request_expired: the key is given twice" in p for p in problems), problems


def test_check_phrases_renders_each_with_hostile_fields_that_never_ping() -> None:
    uses = [Use("unknown_service", "bot/x.py:1", frozenset({"service", "known"}))]
    # Every phrase of the book is said nowhere here except one: only that one may be reported as fine.
    problems = check_phrases(Templates(TEMPLATES), uses)

    assert not any("unknown_service" in p for p in problems)


def test_slack_mentions_people_and_escapes_text_while_logs_read_plain() -> None:
    exc = errors.DeniedError(
        "who_may_cancel", requester=errors.User("U0ALICE"), procedure=errors.Code("a`<b>"), reason="cancel"
    )

    assert ReplyViews(Templates(TEMPLATES)).said(exc.said) == (
        "Only <@U0ALICE> or someone allowed to run `a'&lt;b&gt;` may cancel it."
    )
    assert exc.message == str(exc) == "Only @U0ALICE or someone allowed to run `a`<b>` may cancel it."
    assert exc.reason == "cancel"
    assert errors.User("U0ALICE") in exc.parts


def test_user_text_in_a_field_never_pings_or_links_in_slack() -> None:
    said = errors.Said("unknown_service", service="<!channel> <http://x|y>", known=["<@U0SAMPLE>"])

    shown = ReplyViews(Templates(TEMPLATES)).said(said)

    assert "<!channel>" not in shown and "<http" not in shown and "<@U0SAMPLE>" not in shown
    assert "&lt;!channel&gt;" in shown


def test_a_phrase_said_inside_another_is_rendered_by_the_same_surface() -> None:
    templates = Templates(TEMPLATES)
    doing = errors.Said("doing_run", procedure=errors.Code("scale"))
    said = errors.Said(
        "may_not", doing=doing, who_may=errors.Said("who_may", roles=[errors.Code("ops")], people=[errors.User("U0B")])
    )

    assert templates.plain(said) == "You may not run `scale`: it needs role `ops` (@U0B)."
    assert ReplyViews(templates).said(said) == "You may not run `scale`: it needs role `ops` (<@U0B>)."


def test_a_long_quoted_name_is_cut_at_eighty_characters() -> None:
    said = errors.Said("too_many_arguments", extra=errors.Code("a" * 200))

    assert Templates(TEMPLATES).plain(said) == "Too many arguments: `" + "a" * 79 + "…`."


def test_the_book_is_compiled_once_and_an_unknown_key_is_said_by_its_name_not_raised() -> None:
    templates = Templates(TEMPLATES)

    assert templates.phrases() is templates.phrases()  # per render: a lookup, no parse
    assert templates.plain(errors.Said("not_in_the_book", n=3)) == "not_in_the_book (n: 3)"
    assert str(errors.TargetError("forbidden")) == "forbidden"


def test_a_book_reworded_after_a_bot_compiled_it_is_read_anew_by_the_next_bot(tmp_path: Path) -> None:
    """Compiled books are kept per process (each bot of a test run would compile the same one); an edited
    file is not the same book."""
    folder, book = _book_copy(tmp_path)
    first = Templates(folder)
    assert first.plain(errors.Said("request_expired")).startswith("This request expired")
    book["request_expired"] = "Too late: ask again."
    _write(folder, book)

    assert Templates(folder).plain(errors.Said("request_expired")) == "Too late: ask again."
    assert first.plain(errors.Said("request_expired")).startswith("This request expired")  # checked at its start


def test_the_composition_root_can_install_a_reworded_book_for_logs(tmp_path: Path) -> None:
    folder, book = _book_copy(tmp_path)
    book["request_expired"] = "Too late: ask again."
    _write(folder, book)
    try:
        errors.use_phrase_book(Templates(folder).plain)
        assert errors.UserError("request_expired").message == "Too late: ask again."
    finally:
        errors.use_phrase_book(Templates(TEMPLATES).plain)
    assert errors.UserError("request_expired").message.startswith("This request expired")
