"""Read-only Kubernetes diagnosis (`kubernetes.events`, `.describe`, `.nodes`, `.hpa`, `.endpoints`,
`.rollout_state`, `.logs`): the adapter's reads, laid out as kubectl lays them out.

Output that does not fit a message is shown in part (the part that matters first: warnings, the
newest log lines) with a line saying so, and attached whole; nothing is cut silently.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot import errors
from bot.actions import log_filter, tables
from bot.actions.kubernetes import age
from bot.actions.registry import Action, ActionContext, ActionResult, Attachment, FunctionAction
from bot.catalog_targets import KubernetesTarget
from bot.k8s import ContainerState, Kube, MergedLogs

DETAILS_LIMIT = 2500  # what one Slack section shows comfortably (its hard limit is 3000)


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(Params):
    pass


class DescribeParams(Params):
    pod: str | None = Field(default=None, pattern=r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")


class LogsParams(Params):
    lines: int = Field(default=50, ge=1, le=5000)  # the newest lines, all pods merged
    since_seconds: int | None = Field(default=None, ge=1)
    container: str | None = None
    previous: bool = False
    grep: str | None = Field(default=None, max_length=log_filter.MAX_PATTERN_CHARS)


def _target(ctx: ActionContext) -> KubernetesTarget:
    target = ctx.target("kubernetes")
    if not isinstance(target, KubernetesTarget):
        raise errors.UserError("no_kubernetes_target", service=ctx.service_name)
    return target


def ago(stamp: str, now: datetime | None = None) -> str:
    """kubectl's LAST SEEN: 40s, 12m, 5h, 3d ("?" when the API gave no time)."""
    try:
        then = datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return "?"
    return age(int(((now or datetime.now(UTC)) - then).total_seconds()))


def fitted(
    header: Sequence[str], rows: Sequence[str], *, filename: str, title: errors.Said, newest_last: bool = False
) -> tuple[str, Attachment | None]:
    """Details that fit a message, and the whole text as an attachment when they do not.

    The rows kept are the first ones, or the last ones when `newest_last` (log lines); a line says
    how many were left out of the message and where they are.
    """
    whole = "\n".join([*header, *rows])
    if len(whole) <= DETAILS_LIMIT:
        return whole, None
    note_room = 80
    budget = DETAILS_LIMIT - note_room - sum(len(h) + 1 for h in header)
    kept: list[str] = []
    for row in reversed(rows) if newest_last else rows:
        if budget - (len(row) + 1) < 0:
            break
        kept.append(row)
        budget -= len(row) + 1
    if newest_last:
        kept.reverse()
    note = errors.plain(errors.Said("details_in_file", lines=len(rows) - len(kept), filename=filename))
    shown = [*header, note, *kept] if newest_last else [*header, *kept, note]
    return "\n".join(shown), Attachment(filename=filename, title=title, content=whole + "\n")


def _state(state: ContainerState) -> errors.Said:
    return errors.Said(
        "k8s_container_state", state=state.state.capitalize(), reason=state.reason, exit_code=state.exit_code
    )


EVENT_COLUMNS = (
    tables.Column(errors.Said("column_last_seen"), 9),
    tables.Column(errors.Said("column_type"), 8),
    tables.Column(errors.Said("column_reason"), 20),
    tables.Column(errors.Said("column_object"), 50),
    tables.Column(errors.Said("column_message")),
)
NODE_COLUMNS = (
    tables.Column(errors.Said("column_name"), 40),
    tables.Column(errors.Said("column_status"), 26),
    tables.Column(errors.Said("column_cpu"), 7),
    tables.Column(errors.Said("column_memory"), 12),
    tables.Column(errors.Said("column_age"), 6),
    tables.Column(errors.Said("column_version")),
)


def _logs_summary(found: MergedLogs, service: str | None, grep: str | None, previous: bool) -> errors.Said:
    if previous and not found.pods:
        return errors.Said("k8s_logs_none_restarted", service=service)
    return errors.Said(
        "k8s_logs",
        lines=len(found.lines),
        grep=grep,
        pods=len(found.pods),
        service=service,
        previous=previous,
        matched=found.matched if grep and found.matched > len(found.lines) else None,  # only when more matched
        clipped=list(found.clipped_pods),
        unread=found.unread_pods,
    )


def triage_actions(kube: Kube) -> list[Action]:
    """The diagnosis reads, bound to one adapter (built at the composition root)."""

    async def events(ctx: ActionContext, _: NoParams) -> ActionResult:
        found = await kube.events(_target(ctx))
        warnings = sum(1 for e in found if e.type == "Warning")
        # kubectl's notation: (x3) for an event seen three times.
        header, *rows = tables.table(
            EVENT_COLUMNS,
            (
                (ago(e.last_seen), e.type, e.reason, e.object, f"{e.message}{f' (x{e.count})' if e.count > 1 else ''}")
                for e in found
            ),
        )
        title = errors.Said("k8s_events_file", service=ctx.service_name)
        details, attachment = fitted([header], rows, filename="events.txt", title=title)
        return ActionResult(
            errors.Said("k8s_events", events=len(found), warnings=warnings),
            details=details if found else None,
            files=(attachment,) if attachment is not None else (),
            data={"events": len(found), "warnings": warnings, "reasons": [e.reason for e in found]},
        )

    async def describe(ctx: ActionContext, p: DescribeParams) -> ActionResult:
        pods = await kube.describe(_target(ctx), p.pod)
        rows: list[str] = []
        for pod in pods:
            # kubectl describe's notation (Type=Status (Reason)) and indentation; the words are phrases.
            conditions = [f"{c.type}={c.status}" + (f" ({c.reason})" if c.reason else "") for c in pod.conditions]
            rows += [
                tables.said(errors.Said("k8s_describe_pod", pod=pod.name, node=pod.node, phase=pod.phase)),
                "  " + tables.said(errors.Said("k8s_describe_conditions", conditions=conditions)),
            ]
            for c in pod.containers:
                rows += [
                    "  " + tables.said(errors.Said("k8s_describe_container", container=c.name, image=c.image)),
                    "    "
                    + tables.said(errors.Said("k8s_describe_state", state=_state(c.state), message=c.state.message)),
                ]
                if c.last_state is not None:
                    last = errors.Said("k8s_describe_last_state", state=_state(c.last_state), at=c.last_state.at)
                    rows.append("    " + tables.said(last))
                rows.append(
                    "    " + tables.said(errors.Said("k8s_describe_ready", ready=str(c.ready), restarts=c.restarts))
                )
            rows += [
                "  "
                + tables.said(
                    errors.Said(
                        "k8s_describe_warning", reason=e.reason, ago=ago(e.last_seen), count=e.count, message=e.message
                    )
                )
                for e in pod.warnings
            ]
        troubled = [
            f"{pod.name} {c.state.reason or (c.last_state.reason if c.last_state else '')}".strip()
            for pod in pods
            for c in pod.containers
            if not c.ready or c.restarts
        ]
        summary = errors.Said("k8s_described", pods=len(pods), troubled=troubled)
        title = errors.Said("k8s_described_file", service=ctx.service_name)
        details, attachment = fitted([], rows, filename="describe.txt", title=title)
        reasons = sorted(
            {c.state.reason for pod in pods for c in pod.containers if c.state.reason}
            | {c.last_state.reason for pod in pods for c in pod.containers if c.last_state and c.last_state.reason}
        )
        return ActionResult(
            summary,
            details=details,
            files=(attachment,) if attachment is not None else (),
            data={"pods": [pod.name for pod in pods], "reasons": reasons},
        )

    async def nodes(ctx: ActionContext, _: NoParams) -> ActionResult:
        found = await kube.nodes(_target(ctx))
        cells = []
        for n in found:
            # The node's conditions as kubectl names them (Ready,SchedulingDisabled,MemoryPressure): states, not words.
            status = ("Ready" if n.ready else "NotReady") + (",SchedulingDisabled" if n.unschedulable else "")
            status += "".join(f",{problem}" for problem in n.problems)
            cells.append((n.name, status, n.cpu, n.memory, age(n.age_seconds), n.version))
        header, *rows = tables.table(NODE_COLUMNS, cells)
        ready = sum(1 for n in found if n.ready and not n.problems)
        details, attachment = fitted([header], rows, filename="nodes.txt", title=errors.Said("k8s_nodes_file"))
        return ActionResult(
            errors.Said("k8s_nodes", nodes=len(found), ready=ready),
            details=details,
            files=(attachment,) if attachment is not None else (),
            data={"nodes": [n.name for n in found], "ready": ready},
        )

    async def hpa(ctx: ActionContext, _: NoParams) -> ActionResult:
        h = await kube.hpa(_target(ctx))
        metrics = [errors.Said("k8s_hpa_metric", metric=m.name, current=m.current, target=m.target) for m in h.metrics]
        rows = [tables.said(m) for m in metrics] or [tables.said(errors.Said("k8s_hpa_no_metrics"))]
        rows += [f"{c.type}={c.status} ({c.reason}): {c.message}" for c in h.conditions]  # kubectl's notation
        return ActionResult(
            errors.Said(
                "k8s_hpa", hpa=h.name, current=h.current, desired=h.desired, low=h.min_replicas, high=h.max_replicas
            ),
            details="\n".join(rows),
            data={
                "current": h.current,
                "desired": h.desired,
                "min": h.min_replicas,
                "max": h.max_replicas,
                "metrics": {m.name: m.current for m in h.metrics},
            },
        )

    async def endpoints(ctx: ActionContext, _: NoParams) -> ActionResult:
        found = await kube.endpoints(_target(ctx))
        rows = []
        for s in found:
            ready = sum(1 for a in s.addresses if a.ready)
            service = errors.Said(
                "k8s_endpoints_service", service=s.name, type=s.type, cluster_ip=s.cluster_ip, ports=list(s.ports)
            )
            rows.append(tables.said(service))
            rows.append(
                "  " + tables.said(errors.Said("k8s_endpoints_ready", ready=ready, not_ready=len(s.addresses) - ready))
            )
            not_ready = "  " + tables.said(errors.Said("k8s_endpoint_not_ready"))
            rows += [f"    {a.ip:<15} {a.pod}{'' if a.ready else not_ready}" for a in s.addresses]
            rows.append("  " + tables.said(errors.Said("k8s_endpoints_hosts", hosts=list(s.ingress_hosts))))
        if not found:
            return ActionResult(errors.Said("k8s_no_endpoints"), data={"services": []})
        title = errors.Said("k8s_endpoints_file", service=ctx.service_name)
        details, attachment = fitted([], rows, filename="endpoints.txt", title=title)
        ready = sum(1 for s in found for a in s.addresses if a.ready)
        total = sum(len(s.addresses) for s in found)
        return ActionResult(
            errors.Said("k8s_endpoints", services=len(found), ready=ready, total=total),
            details=details,
            files=(attachment,) if attachment is not None else (),
            data={"services": [s.name for s in found], "ready": ready, "not_ready": total - ready},
        )

    async def rollout_state(ctx: ActionContext, _: NoParams) -> ActionResult:
        state = await kube.rollout_state(_target(ctx))
        return ActionResult(
            errors.Said("k8s_rollout_state", message=state.message, done=state.done),
            data={"done": state.done, "revision": state.revision},
        )

    async def logs(ctx: ActionContext, p: LogsParams) -> ActionResult:
        keep = log_filter.compiled(p.grep).search if p.grep else None  # refused before any read
        found = await kube.logs(
            _target(ctx),
            lines=p.lines,
            since_seconds=p.since_seconds,
            container=p.container,
            previous=p.previous,
            keep=(lambda text: keep(text) is not None) if keep else None,
        )
        width = max((len(line.pod) for line in found.lines), default=0)
        rows = [f"{line.timestamp[:23]}Z [{line.pod:<{width}}] {line.text}" for line in found.lines]
        title = errors.Said("k8s_logs_file", service=ctx.service_name)
        details, attachment = fitted([], rows, filename="logs.txt", title=title, newest_last=True)
        return ActionResult(
            _logs_summary(found, ctx.service_name, p.grep, p.previous),
            details=details or None,
            files=(attachment,) if attachment is not None else (),
            data={"pods": list(found.pods), "lines": len(found.lines), "matched": found.matched},
        )

    table: list[
        tuple[str, type[BaseModel], Callable[[ActionContext, Any], Awaitable[ActionResult]], tuple[str, ...]]
    ] = [
        ("events", NoParams, events, ()),
        ("describe", DescribeParams, describe, ()),
        ("nodes", NoParams, nodes, ()),
        ("hpa", NoParams, hpa, ("deployment",)),
        ("endpoints", NoParams, endpoints, ()),
        ("rollout_state", NoParams, rollout_state, ("deployment",)),
        ("logs", LogsParams, logs, ()),
    ]
    return [
        FunctionAction(f"kubernetes.{name}", model, False, func, target="kubernetes", requires=requires)
        for name, model, func, requires in table
    ]
