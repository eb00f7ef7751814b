"""Kubernetes actions (`kubernetes.scale`, …): typed params in, an ActionResult said with phrases out.

Each action is a thin shell over `bot.k8s.Kube`: it validates arguments (pydantic,
extra="forbid"), takes the service from the run's context, honours `ctx.dry_run` for
mutations (the preview is the API server's dry run) and turns the adapter's dataclasses
into Change lines and figures.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot import errors
from bot.actions import images, tables
from bot.actions.registry import Action, ActionContext, ActionResult, Change, FunctionAction, Label
from bot.catalog_targets import EnvMaintenance, KubernetesTarget, how_to_add
from bot.k8s import Kube, PodInfo, ValueChange
from bot.values import ValueMask

DETAILS_LIMIT = 2500


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(Params):
    pass


class ScaleParams(Params):
    replicas: int = Field(ge=0, le=1000)


class RolloutStatusParams(Params):
    timeout_seconds: float | None = Field(default=None, gt=0, le=3600)  # None = the step's timeout


class UndoParams(Params):
    to_revision: int | None = Field(default=None, ge=1)


class SetEnvParams(Params):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$")
    value: str | None = None  # None = unset
    container: str | None = None


class SetImageParams(Params):
    container: str = Field(pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
    image: str = Field(min_length=1, max_length=255)  # a tag, or repository:tag


class HpaParams(Params):
    min_replicas: int = Field(ge=1)
    max_replicas: int = Field(ge=1)


class ConfigMapParams(Params):
    name: str = Field(pattern=r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")
    key: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    value: str


class DeletePodsParams(Params):
    selector: str | None = None  # narrows the deployment's own selector; None = all its pods


class MaintenanceParams(Params):
    enabled: bool


def cap(text: str, limit: int = DETAILS_LIMIT) -> str:
    """Long output goes in `details`, cut to a size a Slack section can hold."""
    if len(text) <= limit:
        return text
    return text[: limit - 12].rstrip() + "\n" + errors.plain(errors.Said("details_truncated"))


def _service(ctx: ActionContext) -> KubernetesTarget:
    # The loader lets a procedure run only on services with this target; this guards direct calls.
    target = ctx.target("kubernetes")
    if not isinstance(target, KubernetesTarget):
        raise errors.UserError("no_kubernetes_target", service=ctx.service_name)
    return target


def _value_result(
    ctx: ActionContext, change: ValueChange, what: Label, name: str, mask: ValueMask | None
) -> ActionResult:
    """The result of setting one env var / ConfigMap key `name`: its values only as the mask shows them.
    No mask: the values are not secret (an image reference)."""
    before, after = change.before, change.after
    if mask is not None:
        before, after = mask.show(name, before), mask.show(name, after)

    def shown(value: str | None) -> Label:
        return errors.Said("k8s_unset") if value is None else value

    if change.no_op:
        return ActionResult(errors.Said("k8s_value_unchanged", what=what, value=shown(before)), no_op=True)
    return ActionResult(
        errors.Said("k8s_value_set", dry_run=ctx.dry_run, target=change.target, value=shown(after)),
        changes=(Change(change.target, shown(before), shown(after)),),
        data={"before": before, "after": after},
    )


STATUS_MAX_AGE_SECONDS = 1.0


def _history_header() -> str:
    """kubectl's rollout history header, two spaces apart (the rows are not aligned to it)."""
    words = (errors.Said("column_revision"), errors.Said("column_change_cause"), errors.Said("column_images"))
    return "  ".join(tables.said(w) for w in words)


def age(seconds: int) -> str:
    """kubectl's AGE column: 45s, 12m, 5h, 3d."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


POD_COLUMNS = (
    tables.Column(errors.Said("column_pod"), 48),
    tables.Column(errors.Said("column_ready"), 6),
    tables.Column(errors.Said("column_status"), 10),
    tables.Column(errors.Said("column_restarts"), 8),
    tables.Column(errors.Said("column_age"), 6),
    tables.Column(errors.Said("column_node")),
)


def pod_table(pods: Sequence[PodInfo]) -> list[str]:
    return tables.table(
        POD_COLUMNS, ((p.name, f"{p.ready}/{p.total}", p.phase, p.restarts, age(p.age_seconds), p.node) for p in pods)
    )


def kubernetes_actions(kube: Kube, mask: ValueMask) -> list[Action]:
    """The Kubernetes actions, bound to one adapter and the catalog's value mask (built at the composition root)."""

    async def status(ctx: ActionContext, _: NoParams) -> ActionResult:
        # A human reading status during an incident is served a reading at most a second old.
        s = await kube.deployment_status(_service(ctx), max_age=STATUS_MAX_AGE_SECONDS)
        rows = pod_table(s.pods)
        conditions = [f"{c.type}={c.status} ({c.reason})" for c in s.conditions]  # kubectl's notation
        figures = {"desired": s.desired, "ready": s.ready, "updated": s.updated, "available": s.available}
        summary = errors.Said(
            "k8s_status", name=s.name, namespace=s.namespace, **figures, revision=s.revision, paused=s.paused
        )
        lines = [tables.said(errors.Said("k8s_status_conditions", conditions=conditions))]
        lines.append(tables.said(errors.Said("k8s_status_images", images=list(s.images))))
        details = cap("\n".join([*rows, "", *lines]))
        return ActionResult(summary, details=details, data={**figures, "revision": s.revision, "paused": s.paused})

    async def pods(ctx: ActionContext, _: NoParams) -> ActionResult:
        found = await kube.pods(_service(ctx))
        rows = pod_table(found)
        ready = sum(1 for p in found if p.total and p.ready == p.total)
        return ActionResult(
            errors.Said("k8s_pods", pods=len(found), ready=ready),
            details=cap("\n".join(rows)),
            data={"pods": len(found), "ready": ready},
        )

    async def top(ctx: ActionContext, _: NoParams) -> ActionResult:
        usage = await kube.top(_service(ctx))
        rows = [
            tables.said(errors.Said("k8s_top_pod", pod=u.name, cpu=u.cpu_millicores, memory=u.memory_mib))
            for u in usage
        ]
        cpu, mem = sum(u.cpu_millicores for u in usage), sum(u.memory_mib for u in usage)
        return ActionResult(
            errors.Said("k8s_top", pods=len(usage), cpu=cpu, memory=mem),
            details=cap("\n".join(rows)),
            data={"cpu_millicores": cpu, "memory_mib": mem},
        )

    async def history(ctx: ActionContext, _: NoParams) -> ActionResult:
        revisions = await kube.rollout_history(_service(ctx))
        rows = [
            f"{r.number:>4}{' *' if r.current else '  '} {r.change_cause or '<none>'}  {', '.join(r.images)}"
            for r in revisions
        ]
        current = next((r.number for r in revisions if r.current), None)
        return ActionResult(
            errors.Said("k8s_history", revisions=len(revisions), current=current),
            details=cap("\n".join([_history_header(), *rows])),
            data={"revisions": [r.number for r in revisions], "current": current},
        )

    async def scale(ctx: ActionContext, p: ScaleParams) -> ActionResult:
        service = _service(ctx)
        limits = ctx.service.replicas if ctx.service else None
        if limits and not limits.min <= p.replicas <= limits.max:
            raise errors.UserError(
                "replicas_out_of_range",
                deployment=service.deployment,
                low=limits.min,
                high=limits.max,
                value=p.replicas,
            )
        # A confirmed run checks its own read against the preview's (see FunctionAction.checks_preview).
        seen = ctx.expected.get("replicas_before") if ctx.expected and not ctx.dry_run else None
        r = await kube.scale(
            service, p.replicas, dry_run=ctx.dry_run, expect_before=None if seen is None else int(seen)
        )
        data = {"replicas_before": r.before, "replicas_after": r.after}
        if r.before == r.after:
            said = errors.Said("k8s_already_scaled", deployment=service.deployment, replicas=r.after)
            return ActionResult(said, data=data, no_op=True)
        # kubectl scale would not warn either, but the HPA undoes the change within a minute or so: the
        # phrase warns when `hpa` is given.
        return ActionResult(
            errors.Said(
                "k8s_scaled",
                dry_run=ctx.dry_run,
                deployment=service.deployment,
                before=r.before,
                after=r.after,
                hpa=service.hpa,
            ),
            changes=(Change("replicas", str(r.before), str(r.after)),),
            data=data,
        )

    async def restart(ctx: ActionContext, _: NoParams) -> ActionResult:
        service = _service(ctx)
        r = await kube.rollout_restart(service, dry_run=ctx.dry_run)
        return ActionResult(
            errors.Said("k8s_restarted", dry_run=ctx.dry_run, deployment=service.deployment),
            changes=(Change("restartedAt", errors.Said("k8s_revision", revision=r.revision), r.restarted_at),),
            data={"revision_before": r.revision, "restarted_at": r.restarted_at},
        )

    async def rollout_status(ctx: ActionContext, p: RolloutStatusParams) -> ActionResult:
        service = _service(ctx)
        deadline = p.timeout_seconds or ctx.timeout_seconds
        r = await kube.rollout_status(service, deadline=deadline, on_progress=ctx.report_progress)
        # kubectl's own rollout status line, quoted as the adapter words it (bot/k8s/rollouts.py).
        return ActionResult(errors.Said("k8s_rollout_status", message=r.message), data={"revision": r.revision})

    async def undo(ctx: ActionContext, p: UndoParams) -> ActionResult:
        service = _service(ctx)
        r = await kube.rollout_undo(service, to_revision=p.to_revision, dry_run=ctx.dry_run)
        data = {"revision_before": r.from_revision, "revision_target": r.to_revision}
        if r.no_op:
            said = errors.Said("k8s_already_at_revision", deployment=service.deployment, revision=r.to_revision)
            return ActionResult(said, data=data, no_op=True)
        return ActionResult(
            errors.Said("k8s_rolled_back", dry_run=ctx.dry_run, deployment=service.deployment, revision=r.to_revision),
            changes=(
                Change("revision", str(r.from_revision), str(r.to_revision)),
                Change("images", ", ".join(r.images_before), ", ".join(r.images_after)),
            ),
            data=data,
        )

    async def set_env(ctx: ActionContext, p: SetEnvParams) -> ActionResult:
        change = await kube.set_env(_service(ctx), p.name, p.value, container=p.container, dry_run=ctx.dry_run)
        return _value_result(ctx, change, p.name, p.name, mask)

    async def set_image(ctx: ActionContext, p: SetImageParams) -> ActionResult:
        service = _service(ctx)
        change = await kube.set_image(
            service,
            p.container,
            lambda current: images.new_image(current, p.image, service.image_repositories, ctx.service_name),
            dry_run=ctx.dry_run,
        )
        return _value_result(ctx, change, errors.Said("k8s_image_of", container=p.container), p.container, None)

    async def hpa_set(ctx: ActionContext, p: HpaParams) -> ActionResult:
        h = await kube.hpa_set(
            _service(ctx), min_replicas=p.min_replicas, max_replicas=p.max_replicas, dry_run=ctx.dry_run
        )
        return ActionResult(
            errors.Said("k8s_hpa_set", dry_run=ctx.dry_run, hpa=h.name, low=h.min_after, high=h.max_after),
            changes=(
                Change("minReplicas", str(h.min_before), str(h.min_after)),
                Change("maxReplicas", str(h.max_before), str(h.max_after)),
            ),
            data={
                "min_before": h.min_before,
                "max_before": h.max_before,
                "min_after": h.min_after,
                "max_after": h.max_after,
            },
            no_op=(h.min_before, h.max_before) == (h.min_after, h.max_after),
        )

    async def configmap_set(ctx: ActionContext, p: ConfigMapParams) -> ActionResult:
        change = await kube.configmap_set(_service(ctx), p.name, p.key, p.value, dry_run=ctx.dry_run)
        return _value_result(ctx, change, f"{p.name}/{p.key}", p.key, mask)

    async def delete_pods(ctx: ActionContext, p: DeletePodsParams) -> ActionResult:
        service = _service(ctx)
        d = await kube.delete_pods(service, p.selector, dry_run=ctx.dry_run)
        back = None  # how the replacements came up (the adapter's progress line)
        if d.names and not ctx.dry_run:
            back = await kube.wait_replaced(
                service, d.names, deadline=ctx.timeout_seconds, on_progress=ctx.report_progress
            )
        return ActionResult(
            errors.Said("k8s_pods_deleted", dry_run=ctx.dry_run, pods=len(d.names), back=back),
            changes=tuple(Change(errors.Said("k8s_pod", pod=n), "running", "deleted") for n in d.names),
            details=cap("\n".join(d.names)),
            data={"pods": list(d.names)},
            no_op=not d.names,
        )

    async def maintenance(ctx: ActionContext, p: MaintenanceParams) -> ActionResult:
        service = _service(ctx)
        if service.maintenance is None:
            raise errors.UserError(how_to_add(ctx.service_name or service.deployment_name, "kubernetes.maintenance"))
        change = await kube.maintenance(service, p.enabled, dry_run=ctx.dry_run)
        mode = service.maintenance
        name = mode.variable if isinstance(mode, EnvMaintenance) else mode.key
        return _value_result(ctx, change, errors.Said("k8s_maintenance_mode"), name, mask)

    deployment, hpa, maintenance_mode = ("deployment",), ("deployment", "hpa"), ("deployment", "maintenance")
    table: list[
        tuple[str, type[BaseModel], bool, Callable[[ActionContext, Any], Awaitable[ActionResult]], tuple[str, ...]]
    ] = [
        ("status", NoParams, False, status, deployment),
        ("pods", NoParams, False, pods, ()),  # a deployment's pods, or a label selector's
        ("top", NoParams, False, top, deployment),
        ("history", NoParams, False, history, deployment),
        ("rollout_status", RolloutStatusParams, False, rollout_status, deployment),
        ("scale", ScaleParams, True, scale, deployment),
        ("rollout_restart", NoParams, True, restart, deployment),
        ("rollout_undo", UndoParams, True, undo, deployment),
        ("set_env", SetEnvParams, True, set_env, deployment),
        ("set_image", SetImageParams, True, set_image, ("deployment", "image_repositories")),
        ("hpa_set", HpaParams, True, hpa_set, hpa),
        ("configmap_set", ConfigMapParams, True, configmap_set, ()),
        ("delete_pods", DeletePodsParams, True, delete_pods, deployment),
        ("maintenance", MaintenanceParams, True, maintenance, maintenance_mode),
    ]
    return [
        FunctionAction(
            f"kubernetes.{name}",
            model,
            mutating,
            func,
            target="kubernetes",
            requires=requires,
            checks_preview=name == "scale",
        )
        for name, model, mutating, func, requires in table
    ]
