"""Runbooks written in other styles than the seeds import to the same shape of guide."""

from __future__ import annotations

from bot.guides.model import Guide, Section
from tests.guides.helpers import STYLES, all_steps, imported


def _only_section(guide: Guide) -> Section:
    assert len(guide.sections) == 1, [s.title for s in guide.sections]
    return guide.sections[0]


def test_setext_headings_numbered_steps_and_inline_code() -> None:
    result = imported((STYLES / "numbered_setext.md").read_text(encoding="utf-8"))
    section, locked = result.guide.sections
    assert result.guide.title == "Checkout Service Playbook"
    assert section.title == "Checkout is slow"
    assert section.symptoms == ["p95 latency above 2 s", "carts time out"]
    assert [(s.phase, s.command_text()) for s in section.steps] == [
        ("diagnosis", "pods checkout"),
        ("diagnosis", "logs checkout 200"),
        ("diagnosis", "db-connections checkout"),
        ("resolution", "scale checkout 6"),
        ("resolution", "restart checkout"),
    ]
    assert section.steps[0].title == "Look at the pods"
    assert section.escalation is not None and section.escalation.after_minutes == 30
    refused = [line for line in result.lines if line.outcome != "mapped"]
    assert [(r.text, r.outcome) for r in refused] == [("kubectl delete namespace shop", "unsafe")]
    assert [s.command_text() for s in locked.steps] == ["kill-long-queries checkout 10"]
    assert locked.escalation is not None
    assert locked.escalation.contacts == ["DBA on call (+1-555-0100) after 15 minutes", "Payments lead"]
    assert locked.escalation.after_minutes == 15
    assert result.services == {
        "checkout": {"namespace": "shop", "deployment": "checkout", "postgres_dsn_env": "CHECKOUT_DATABASE_URL"}
    }


def test_german_headings_comments_become_step_titles() -> None:
    result = imported((STYLES / "german.md").read_text(encoding="utf-8"))
    section = _only_section(result.guide)
    assert section.symptoms == ["Keine neuen PDFs seit einer Stunde", "Warteschlange wächst"]
    assert [(s.title, s.phase, s.command_text()) for s in section.steps] == [
        ("Länge der Warteschlange prüfen", "diagnosis", "queue-depth invoices"),
        ("Protokolle der letzten Stunde", "diagnosis", "logs invoices --since 1h"),
        ("Dienst neu starten", "resolution", "restart invoices"),
    ]
    assert section.escalation is not None and section.escalation.after_minutes == 20
    assert result.services["invoices"]["queues"] == ["invoices:pending"]
    assert "FLUSHALL" not in " ".join(all_steps(result))


def test_commands_in_a_table_take_the_row_as_title() -> None:
    result = imported((STYLES / "table_commands.md").read_text(encoding="utf-8"))
    section = _only_section(result.guide)
    assert [(s.title, s.command_text()) for s in section.steps] == [
        ("Check pods", "pods indexer"),
        ("Restart indexer", "restart indexer"),
        ("Roll back", "rollback indexer --revision 3"),
    ]
    assert section.escalation is not None and section.escalation.after_minutes == 60
    wipe = next(line for line in result.lines if line.text.startswith("rm "))
    assert (wipe.outcome, wipe.reason, wipe.line) == ("unsafe", "deletes files", 12)


def test_french_labels_and_placeholders_become_parameters() -> None:
    result = imported((STYLES / "french_placeholders.md").read_text(encoding="utf-8"))
    section = _only_section(result.guide)
    assert section.symptoms == ["erreurs 502 sur le portail"]
    commands = [s.command_text() for s in section.steps]
    assert commands == [
        "pods portal",
        "logs {svc} 100",
        "health portal",
        "restart {deployment_name}",
        "maintenance on portal",
    ]
    assert section.steps[1].placeholders == ["svc"]
    assert section.escalation is not None and section.escalation.after_minutes == 10
    assert result.services["portal"]["health_url"] == "https://portal.example.org/healthz"


def test_compose_commands_in_a_bullet_list() -> None:
    result = imported((STYLES / "compose_lists.md").read_text(encoding="utf-8"))
    section = _only_section(result.guide)
    assert section.symptoms == ['orders stay in "paid"']
    assert [s.command_text() for s in section.steps] == [
        "queue-depth worker",
        "logs worker 50",
        "restart worker",
        "scale worker 4",
    ]
    assert all("compose" in s.note for s in section.steps[1:])
    assert result.compose_services["worker"]["project"] == "shop"
    down = next(line for line in result.lines if "down" in line.text)
    assert down.outcome == "unsafe"
