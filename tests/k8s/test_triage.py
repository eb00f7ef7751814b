"""The diagnosis reads against the sandbox cluster, and the real kubectl's view of the same objects:
what `kubectl get events` and `kubectl describe pod` print is what the bot reports."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable

import pytest

from bot import errors
from bot.actions import log_filter
from bot.actions.kubernetes_triage import triage_actions
from bot.actions.registry import ActionContext, ActionRegistry
from bot.catalog import Catalog
from bot.catalog_targets import KubernetesTarget
from bot.k8s import Kube
from sandbox.cluster import SandboxCluster

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
NS = "production"


@pytest.fixture(autouse=True)
def triage_world(cluster: SandboxCluster, catalog: Catalog) -> None:
    cluster.seed_triage(catalog)


def crashing(cluster: SandboxCluster) -> str:
    return next(
        p["metadata"]["name"]
        for p in cluster.pods(NS)
        if p["metadata"]["labels"].get("app") == "email-dashboard"
        and p["status"]["containerStatuses"][0]["restartCount"]
    )


async def test_events_are_the_workloads_own_with_warnings_first(
    kube: Kube, dashboard: KubernetesTarget, backend: KubernetesTarget, cluster: SandboxCluster
) -> None:
    events = await kube.events(dashboard)
    types = [e.type for e in events]
    assert types == sorted(types, key=lambda t: t != "Warning") and "Warning" in types
    assert {e.reason for e in events if e.type == "Warning"} == {"BackOff", "Unhealthy"}
    assert all(e.object.split("/")[1].startswith("email-dashboard") for e in events)
    assert not [e for e in await kube.events(backend) if e.type == "Warning"]  # only its own objects


async def test_kubectl_get_events_lists_the_same_warnings(
    kube: Kube, dashboard: KubernetesTarget, cluster: SandboxCluster, kubectl: Kubectl
) -> None:
    result = await asyncio.to_thread(kubectl, "get", "events", "-n", NS, "--sort-by=.lastTimestamp")
    assert result.returncode == 0, result.stderr
    printed = {(line.split()[2], line.split()[3]) for line in result.stdout.splitlines()[1:] if " Warning " in line}
    ours = {(e.reason, e.object) for e in await kube.events(dashboard) if e.type == "Warning"}
    assert printed == ours


async def test_describe_reports_what_kubectl_describe_prints(
    kube: Kube, dashboard: KubernetesTarget, cluster: SandboxCluster, kubectl: Kubectl
) -> None:
    pod = crashing(cluster)
    (described,) = await kube.describe(dashboard, pod)
    container = described.containers[0]
    assert (container.state.reason, container.restarts, container.ready) == ("CrashLoopBackOff", 7, False)
    assert container.last_state is not None
    assert (container.last_state.reason, container.last_state.exit_code) == ("OOMKilled", 137)

    result = await asyncio.to_thread(kubectl, "describe", "pod", pod, "-n", NS)
    assert result.returncode == 0, result.stderr
    for line in ("Reason:       CrashLoopBackOff", "Reason:       OOMKilled", "Exit Code:    137", "Restart Count:  7"):
        assert line in result.stdout
    assert f"Node:           {described.node}/" in result.stdout
    assert all(w.reason in result.stdout for w in described.warnings)


async def test_describe_refuses_a_pod_of_another_workload(kube: Kube, dashboard: KubernetesTarget) -> None:
    with pytest.raises(errors.UserError, match="is not a pod of this service"):
        await kube.describe(dashboard, "mail-score-backend-0")


async def test_nodes_hpa_endpoints_and_rollout_state(
    kube: Kube, dashboard: KubernetesTarget, backend: KubernetesTarget, kubectl: Kubectl
) -> None:
    nodes = await kube.nodes(dashboard)
    assert [n.name for n in nodes] == ["sandbox-node-1", "sandbox-node-2", "sandbox-node-3"]
    assert all(n.ready and not n.problems for n in nodes)
    printed = await asyncio.to_thread(kubectl, "get", "nodes")
    assert printed.returncode == 0 and all(n.name in printed.stdout for n in nodes)

    hpa = await kube.hpa(backend)
    assert (hpa.name, hpa.min_replicas, hpa.max_replicas) == ("backend-hpa", 1, 20)
    assert [(m.name, m.current, m.target) for m in hpa.metrics] == [("cpu", "64%", "70%")]

    (service,) = await kube.endpoints(dashboard)
    assert service.name == "email-dashboard" and service.ingress_hosts == ("dashboard.example.com",)
    assert sorted(a.ready for a in service.addresses) == [False, True, True]

    state = await kube.rollout_state(backend)
    assert state.done and errors.plain(state.message) == 'deployment "mail-score-backend" successfully rolled out'


async def test_logs_merge_every_pod_by_timestamp_and_filter_each_line(
    kube: Kube, dashboard: KubernetesTarget, cluster: SandboxCluster
) -> None:
    merged = await kube.logs(dashboard, lines=60)
    assert len(merged.lines) == 60 and {line.pod for line in merged.lines} == set(merged.pods)
    assert len(merged.pods) == 3
    stamps = [line.timestamp for line in merged.lines]
    assert stamps == sorted(stamps)

    pattern = log_filter.compiled(r"ERROR \w+")
    errors_only = await kube.logs(dashboard, lines=4, keep=lambda text: pattern.search(text) is not None)
    assert merged.matched == 180  # the newest 60 of each pod, merged; the newest 60 of those kept
    assert errors_only.matched == 15  # each pod is read further back with a filter: 5 ERROR lines in 200
    assert len(errors_only.lines) == 4 and all("ERROR upstream" in line.text for line in errors_only.lines)

    previous = await kube.logs(dashboard, lines=10, previous=True)
    assert previous.pods == (crashing(cluster),)
    assert "JavaScript heap out of memory" in previous.lines[-1].text


@pytest.mark.parametrize("pattern", ["(a+)+$", r"(\d+)*x", "(a|aa)*b", "(x|y){2,}", "(a)\\1", "x" * 201, "(oops"])
def test_patterns_that_could_run_for_ever_or_do_not_compile_are_refused(pattern: str) -> None:
    with pytest.raises(errors.UserError, match="--grep pattern refused"):
        log_filter.check(pattern)


@pytest.mark.parametrize("pattern", ["ERROR", "ERROR|WARN", r"timeout after \d+ms", "(GET|POST) /api", "(?i)fatal"])
def test_ordinary_patterns_pass(pattern: str) -> None:
    log_filter.check(pattern)


async def test_previous_logs_of_a_service_whose_pods_never_restarted_say_so(kube: Kube, catalog: Catalog) -> None:
    registry = ActionRegistry(triage_actions(kube))
    ctx = ActionContext("backend", catalog.service("backend"), timeout_seconds=10)
    params = registry.validate_params("kubernetes.logs", {"previous": True})
    result = await registry.get("kubernetes.logs").run(ctx, params)
    assert (
        errors.plain(result.summary)
        == "No pod of backend has restarted, so none has a previous container to read logs from"
    )


def _gets(cluster: SandboxCluster) -> set[str]:
    """The resource paths read since the last clear (kubectl's discovery requests left out)."""
    return {
        r.path
        for r in cluster.requests
        if r.method == "GET" and ("/namespaces/" in r.path or r.path.endswith("/nodes"))
    }


async def test_diagnosis_reads_are_the_requests_kubectl_get_sends(
    kube: Kube, dashboard: KubernetesTarget, backend: KubernetesTarget, cluster: SandboxCluster, kubectl: Kubectl
) -> None:
    reads = [
        (lambda: kube.events(dashboard), ("get", "events", "-n", NS)),
        (lambda: kube.nodes(dashboard), ("get", "nodes")),
        (lambda: kube.hpa(backend), ("get", "hpa", "backend-hpa", "-n", backend.namespace)),
        (lambda: kube.endpoints(dashboard), ("get", "services,endpoints,ingresses", "-n", NS)),
    ]
    workload = ("/deployments", "/replicasets", "/pods")  # how the bot finds the service's objects first
    for ours, args in reads:
        cluster.clear()
        await ours()
        sent = {p for p in _gets(cluster) if not any(part in p for part in workload)}
        cluster.clear()
        result = await asyncio.to_thread(kubectl, *args)
        assert result.returncode == 0, (args, result.stderr, [r.path for r in cluster.requests])
        assert sent and sent <= _gets(cluster), args


async def test_log_reads_ask_the_api_what_kubectl_logs_asks(
    kube: Kube, dashboard: KubernetesTarget, cluster: SandboxCluster, kubectl: Kubectl
) -> None:
    pod = crashing(cluster)
    cluster.clear()
    await kube.logs(dashboard, lines=10, previous=True)
    (ours,) = cluster.requests_to("/log")
    cluster.clear()
    result = await asyncio.to_thread(
        kubectl, "logs", pod, "-n", NS, "--tail=10", "--timestamps", "--previous", "--limit-bytes=512000"
    )
    assert result.returncode == 0, result.stderr
    (theirs,) = cluster.requests_to("/log")
    assert ours.path == theirs.path
    assert {k: v for k, v in ours.query.items() if k != "container"} == {
        k: v for k, v in theirs.query.items() if k != "container"
    }
