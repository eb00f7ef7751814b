"""The preview is what runs: what a preview's dry runs saw, compared with the same dry runs at confirmation.

Each mutating step's dry run records the items it would change with their current value (replicas 3,
an env var's fingerprint, a query's pid and start time). At confirmation the dry runs are repeated;
any item that appeared, went away or holds another value changes the effect, so the run stops and
says what changed: a new preview is needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot import errors

Seen = Mapping[int, Mapping[str, Any]]  # step index → {"changes": [[what, before], …], "data": {…}}


def by_index(seen: Iterable[Mapping[str, Any]]) -> dict[int, Mapping[str, Any]]:
    return {int(step["index"]): step for step in seen}


def recorded(preview: Mapping[str, Any] | None) -> dict[int, Mapping[str, Any]]:
    """What the preview stored (empty for previews made before they recorded it)."""
    return by_index((preview or {}).get("seen") or [])


def describe(before: Seen, now: Seen) -> str | None:
    """What differs between the preview and now, in words; None when the preview still holds."""
    differences: list[errors.Said] = []
    for index in sorted(set(before) | set(now)):
        then = {str(what): str(value) for what, value in (before.get(index) or {}).get("changes", [])}
        current = {str(what): str(value) for what, value in (now.get(index) or {}).get("changes", [])}
        for what in sorted(set(then) | set(current)):
            if what not in current:
                differences.append(errors.Said("drift_gone", what=what, then=then[what]))
            elif what not in then:
                differences.append(errors.Said("drift_new", what=what, now=current[what]))
            elif then[what] != current[what]:
                differences.append(errors.Said("drift_changed", what=what, then=then[what], now=current[what]))
    return str(errors.ChangedSincePreview(differences)) if differences else None
