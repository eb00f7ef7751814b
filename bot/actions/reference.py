"""`runbook-bot actions`: every action with its target kind, what it needs and its parameters,
read from the registry's pydantic models (docs/procedures.md embeds the same table)."""

from __future__ import annotations

from typing import Any

from pydantic.fields import FieldInfo

from bot.actions.registry import Action, ActionRegistry


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if not hasattr(annotation, "__args__") else None
    return text or str(annotation).replace("typing.", "").replace("NoneType", "None")


def _bounds(field: FieldInfo) -> str:
    parts = []
    for item in field.metadata:
        for attr, sign in (
            ("ge", "≥"),
            ("gt", ">"),
            ("le", "≤"),
            ("lt", "<"),
            ("min_length", "len ≥"),
            ("max_length", "len ≤"),
        ):
            value = getattr(item, attr, None)
            if value is not None:
                parts.append(f"{sign} {value}")
        pattern = getattr(item, "pattern", None)
        if pattern:
            parts.append(f"pattern {pattern}")
    return ", ".join(parts)


def describe_params(action: Action) -> str:
    """`replicas: int (≥ 0, ≤ 1000)`, `tail_lines: int = 50 (≥ 1)`, … or `—`."""
    shown = []
    for name, field in action.params_model.model_fields.items():
        text = f"{name}: {_type_name(field.annotation)}"
        if not field.is_required():
            text += f" = {field.default!r}"
        bounds = _bounds(field)
        shown.append(text + (f" ({bounds})" if bounds else ""))
    return "; ".join(shown) or "—"


def markdown_table(registry: ActionRegistry) -> str:
    rows = [
        "| action | target | needs | changes | parameters |",
        "|---|---|---|---|---|",
    ]
    for name in registry.names():
        action = registry.get(name)
        needs = ", ".join(f"`{n}`" for n in action.requires) or "—"
        params = describe_params(action).replace("|", "\\|")
        rows.append(f"| `{name}` | {action.target} | {needs} | {'yes' if action.mutating else 'no'} | {params} |")
    return "\n".join(rows) + "\n"


def plain_lines(registry: ActionRegistry) -> list[str]:
    lines = []
    for name in registry.names():
        action = registry.get(name)
        needs = f", needs {', '.join(action.requires)}" if action.requires else ""
        kind = "changes things" if action.mutating else "read-only"
        lines.append(f"{name}  [{action.target}{needs}; {kind}]")
        lines.append(f"    {describe_params(action)}")
    return lines
