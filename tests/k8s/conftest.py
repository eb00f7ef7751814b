"""Fixtures: one sandbox cluster per test module, freshly seeded per test, and a Kube pointed at it."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.catalog import Catalog, Service, load_catalog
from bot.catalog_targets import KubernetesTarget
from bot.k8s import Kube
from bot.settings import PROJECT_ROOT
from sandbox.cluster import SandboxCluster

KUBECTL = shutil.which("kubectl")


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(PROJECT_ROOT / "chatops.yml")


@pytest.fixture
async def cluster(catalog: Catalog) -> AsyncIterator[SandboxCluster]:
    sandbox = SandboxCluster(step_seconds=0.02)
    await sandbox.start()
    sandbox.seed_from_catalog(catalog)
    sandbox.clear()
    try:
        yield sandbox
    finally:
        await sandbox.stop()


@pytest.fixture
def kubeconfig(cluster: SandboxCluster, catalog: Catalog, tmp_path: Path) -> Path:
    return cluster.write_kubeconfig(tmp_path / "kubeconfig", SandboxCluster.catalog_contexts(catalog))


@pytest.fixture
async def kube(kubeconfig: Path) -> AsyncIterator[Kube]:
    adapter = Kube(kubeconfig=kubeconfig, timeout=2.0, conflict_backoff=0.01)
    try:
        yield adapter
    finally:
        adapter.close()


@pytest.fixture
def dashboard(catalog: Catalog) -> KubernetesTarget:
    """The env-maintenance deployment (runbook 000)."""
    return kubernetes_target(catalog.service("email-dashboard"))


@pytest.fixture
def backend(catalog: Catalog) -> KubernetesTarget:
    """The ConfigMap-maintenance deployment with an HPA (runbook 001)."""
    return kubernetes_target(catalog.service("backend"))


def kubernetes_target(service: Service) -> KubernetesTarget:
    assert service.kubernetes is not None
    return service.kubernetes


@pytest.fixture
def kubectl(kubeconfig: Path, tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real kubectl against the sandbox (blocking; call it via asyncio.to_thread)."""
    if KUBECTL is None:
        reason = "kubectl is not on PATH; install it to compare the bot's requests with kubectl's"
        print(reason)
        pytest.skip(reason)
    env = {**os.environ, "HOME": str(tmp_path), "KUBECONFIG": str(kubeconfig)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [KUBECTL, "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "cache"), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=30, env=env, check=False)  # noqa: S603

    return run
