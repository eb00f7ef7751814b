"""Running a procedure's steps as actions: choosing them, binding arguments, timeouts, dry runs."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bot import errors
from bot.actions.registry import ActionContext, ActionRegistry, ActionResult, Change, ProgressReporter, plain
from bot.catalog import Catalog
from bot.runbooks.loader import step_arguments
from bot.runbooks.model import Procedure, Step


class StepRunner:
    def __init__(self, catalog: Catalog, registry: ActionRegistry) -> None:
        self._catalog = catalog
        self._registry = registry

    @staticmethod
    def chosen(procedure: Procedure, args: Mapping[str, Any]) -> list[tuple[int, Step]]:
        """The steps that apply to these arguments (`when: mode=on`), with their index in the procedure."""
        chosen = []
        for index, step in enumerate(procedure.steps):
            if step.when:
                key, _, wanted = step.when.partition("=")
                if str(args.get(key.strip())) != wanted.strip():
                    continue
            chosen.append((index, step))
        return chosen

    def checked_by_its_step(self, procedure: Procedure, args: Mapping[str, Any]) -> int | None:
        """The index of the procedure's one mutating step when its action checks the preview itself
        (Action.checks_preview), else None. Nothing changes before that step, and the step compares its
        own read with the preview's just before it writes, so a confirmation need not repeat the dry run."""
        mutating = [(i, s) for i, s in self.chosen(procedure, args) if self._registry.get(s.action).mutating]
        if len(mutating) == 1 and self._registry.get(mutating[0][1].action).checks_preview:
            return mutating[0][0]
        return None

    async def run(
        self,
        procedure: Procedure,
        step: Step,
        args: Mapping[str, Any],
        service: str | None,
        *,
        dry_run: bool = False,
        progress: ProgressReporter | None = None,
        expected: Mapping[str, Any] | None = None,
    ) -> ActionResult:
        action = self._registry.get(step.action)
        params = self._registry.validate_params(step.action, step_arguments(procedure, step.args, dict(args)))
        ctx = ActionContext(
            service_name=service,
            service=None if service is None else self._catalog.services[service],
            component=procedure.target.component if procedure.target else None,
            dry_run=dry_run,
            timeout_seconds=step.timeout_seconds,
            expected=expected,
        )
        if progress is not None:
            ctx = replace(ctx, report_progress=progress)
        try:
            async with asyncio.timeout(step.timeout_seconds):
                return await action.run(ctx, params)
        except TimeoutError:
            raise errors.TargetError(
                "step_timed_out", step=errors.Code(step.label()), seconds=step.timeout_seconds
            ) from None

    async def read_only(
        self, procedure: Procedure, args: Mapping[str, Any], service: str | None
    ) -> tuple[ActionResult, ...]:
        return tuple([await self.run(procedure, step, args, service) for _, step in self.chosen(procedure, args)])

    async def preview(
        self, procedure: Procedure, args: Mapping[str, Any], service: str | None
    ) -> tuple[tuple[Change, ...], tuple[errors.Said, ...], list[dict[str, Any]]]:
        """What the mutating steps would change, from the target's own dry run, notes on the rest, and
        what each dry run saw (step index, changed items with their current value, result data): the
        state a confirmation is checked against."""
        changes: list[Change] = []
        notes: list[errors.Said] = []
        dry_runs: list[ActionResult] = []
        seen: list[dict[str, Any]] = []
        for index, step in self.chosen(procedure, args):
            if not self._registry.get(step.action).mutating:
                notes.append(errors.Said("step_then", step=step.label()))
                continue
            result = await self.run(procedure, step, args, service, dry_run=True)
            dry_runs.append(result)
            changes.extend(result.changes)
            notes.append(result.summary)
            # Items by their plain text, as the confirmation's dry run will say them (drift.describe compares).
            items = [[plain(c.what), plain(c.before)] for c in result.changes]
            seen.append({"index": index, "changes": items, "data": result.data})
        if dry_runs and all(r.no_op for r in dry_runs):
            raise errors.NothingToChange("nothing_to_change", summaries=[r.summary for r in dry_runs])
        return tuple(changes), tuple(notes), seen
