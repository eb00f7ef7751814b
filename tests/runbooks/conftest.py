"""The shipped procedures, for tests that read them without starting a bot."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.actions.registry import ActionRegistry
from bot.app import build_registry
from bot.catalog import Catalog
from bot.docker import Engines
from bot.k8s import Kube
from bot.runbooks.loader import load_procedures
from bot.runbooks.model import Procedure
from bot.settings import PROJECT_ROOT
from bot.values import ValueMask


@pytest.fixture
def procedures(catalog: Catalog, tmp_path: Path) -> dict[str, Procedure]:
    """The shipped procedures, loaded as the bot loads them (no cluster is asked anything)."""
    kube = Kube(kubeconfig=tmp_path / "no-kubeconfig", timeout=1.0)
    registry: ActionRegistry = build_registry(
        kube, Engines({}, default_url=None, timeout=1), ValueMask.of([], b"table test key"), None
    )
    try:
        return load_procedures(PROJECT_ROOT / "commands", catalog, registry)
    finally:
        kube.close()
