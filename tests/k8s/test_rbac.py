"""`runbook-bot rbac`: every Kubernetes call a catalog procedure makes is allowed by the rendered Role
of its namespace (checked by the sandbox cluster request by request); calls outside it are not."""

from __future__ import annotations

import contextlib
from typing import Any

import yaml

from bot import errors
from bot.actions.registry import ActionContext, ActionRegistry
from bot.app import build_registry
from bot.catalog import Catalog
from bot.catalog_targets import DockerHost
from bot.docker import Engines
from bot.k8s import Kube
from bot.rbac import render
from bot.runbooks.loader import load_procedures, step_arguments
from bot.runbooks.model import IntParam, Procedure
from bot.settings import PROJECT_ROOT
from bot.values import ValueMask
from sandbox.cluster import SandboxCluster
from sandbox.cluster_rbac import RequestAttributes, allowed, attributes

MASK = ValueMask.of([], b"test key")  # the actions only need one; these tests read no values


def roles(catalog: Catalog, procedures: dict[str, Procedure]) -> dict[str, list[dict[str, Any]]]:
    documents = yaml.safe_load_all(render(catalog, procedures, account="runbook-bot", account_namespace="bot"))
    return {d["metadata"]["namespace"]: d["rules"] for d in documents if d["kind"] == "Role"}


def _sample_string(name: str, catalog: Catalog, service: str) -> str:
    """A string the parameter accepts on this service (set-image's container and allowed image)."""
    target = catalog.services[service].kubernetes
    if name == "container" and target is not None:
        return target.container or "app"
    if name == "image" and target is not None and target.image_repositories:
        return f"{target.image_repositories[0]}:sample"
    return "FEATURE_FLAG"


def sample_values(procedure: Procedure, catalog: Catalog, service: str) -> dict[str, Any]:
    """Required parameters get a plausible value; optional ones their default."""
    values: dict[str, Any] = {}
    for p in procedure.params:
        if isinstance(p, IntParam) and p.required:
            values[p.name] = max(p.min or 1, catalog.services[service].replicas.min)
        elif p.required and getattr(p, "choices", None):
            values[p.name] = p.choices[0]  # type: ignore[union-attr]
        elif p.required and p.type == "string":
            values[p.name] = _sample_string(p.name, catalog, service)
        else:
            values[p.name] = getattr(p, "default", None)
    return values


async def test_every_call_of_every_allowed_procedure_is_inside_the_rendered_role(
    cluster: SandboxCluster, kube: Kube, catalog: Catalog
) -> None:
    cluster.seed_components(catalog)
    engines = Engines({"default": DockerHost()}, default_url=None, timeout=1)
    registry: ActionRegistry = build_registry(kube, engines, ValueMask.of([], b"rbac test key"), None)
    procedures = load_procedures(PROJECT_ROOT / "commands", catalog, registry)
    rules = roles(catalog, procedures)
    checked = 0
    for procedure in procedures.values():
        if procedure.target is not None:
            places = [(procedure.target.service, procedure.target.component)]
        else:
            param = procedure.service_param
            places = [(name, None) for name in (param.services or [])] if param else []
        for service, component in places:
            values = sample_values(procedure, catalog, service)
            for step in procedure.steps:
                if not step.action.startswith("kubernetes."):
                    continue
                action = registry.get(step.action)
                params = registry.validate_params(step.action, step_arguments(procedure, step.args, values))
                ctx = ActionContext(
                    service, catalog.services[service], dry_run=action.mutating, timeout_seconds=2, component=component
                )
                cluster.requests.clear()
                # A refusal (no previous revision, a rollout past 2 s) still made its calls.
                with contextlib.suppress(errors.BotError):
                    await action.run(ctx, params)
                for request in cluster.requests:
                    attrs = attributes(request.method, request.path, request.query)
                    if attrs is None:
                        continue
                    assert allowed(rules.get(attrs.namespace, []), attrs), (
                        f"{procedure.name} on {service}: {request.method} {request.path} is outside the Role"
                    )
                    checked += 1
    await engines.close()
    assert checked > 50


async def test_the_role_refuses_what_no_procedure_needs(catalog: Catalog, kube: Kube) -> None:
    engines = Engines({"default": DockerHost()}, default_url=None, timeout=1)
    procedures = load_procedures(
        PROJECT_ROOT / "commands", catalog, build_registry(kube, engines, ValueMask.of([], b"rbac test key"), None)
    )
    await engines.close()
    rules = roles(catalog, procedures)
    outside = [
        RequestAttributes("patch", "apps", "deployments", "production", "not-in-the-catalog"),
        RequestAttributes("delete", "apps", "deployments", "production", "email-dashboard"),
        RequestAttributes("get", "", "secrets", "production", "db-credentials"),
        RequestAttributes("create", "", "pods/exec", "production", "email-dashboard-1"),
        RequestAttributes("patch", "", "configmaps", "mail-score-production", "some-other-config"),
    ]
    for request in outside:
        assert not allowed(rules[request.namespace], request), request
    inside = RequestAttributes("patch", "apps", "deployments/scale", "production", "email-dashboard")
    assert allowed(rules["production"], inside)


def test_deploy_rbac_yaml_is_what_runbook_bot_rbac_renders_for_the_example_catalog(catalog: Catalog) -> None:
    kube = Kube(kubeconfig=None, timeout=1)
    engines = Engines({"default": DockerHost()}, default_url=None, timeout=1)
    try:
        procedures = load_procedures(
            PROJECT_ROOT / "commands", catalog, build_registry(kube, engines, ValueMask.of([], b"rbac test key"), None)
        )
    finally:
        kube.close()
    rendered = render(catalog, procedures, account="runbook-bot", account_namespace="runbook-bot")
    assert (PROJECT_ROOT / "deploy" / "rbac.yaml").read_text(encoding="utf-8") == rendered, (
        "regenerate: runbook-bot rbac > deploy/rbac.yaml"
    )
