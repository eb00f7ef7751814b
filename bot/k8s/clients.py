"""One ApiClient per kubeconfig context, built lazily, and the bounded thread pool they run on.

The official client is synchronous; every call runs in our own executor (never the loop's
default one, so a slow cluster cannot starve other blocking work) with `_request_timeout`.
Each client has its own explicit Configuration: the library's global default is never touched.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from kubernetes import client, config

T = TypeVar("T")


class ClientPool:
    def __init__(self, kubeconfig: Path | None, *, max_workers: int = 8, max_watches: int = 16) -> None:
        self._kubeconfig = kubeconfig
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="kube")
        # A watch holds its thread for as long as it runs (a rollout: minutes): never one the reads need.
        self._watch_executor = ThreadPoolExecutor(max_workers=max_watches, thread_name_prefix="kube-watch")
        self._clients: dict[str | None, Any] = {}
        self._lock = threading.Lock()

    def _in_cluster(self) -> bool:
        return self._kubeconfig is None and "KUBERNETES_SERVICE_HOST" in os.environ

    def api_client(self, context: str | None) -> Any:
        """The ApiClient for a context (None = the current context, or in-cluster). Thread-safe."""
        with self._lock:
            existing = self._clients.get(context)
            if existing is not None:
                return existing
            cfg = client.Configuration()
            if self._in_cluster() and context is None:
                config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
            else:
                path = str(self._kubeconfig) if self._kubeconfig is not None else None
                config.load_kube_config(  # type: ignore[no-untyped-call]
                    config_file=path, context=context, client_configuration=cfg
                )
            # urllib3 would otherwise retry reads silently, turning a 10 s timeout into 40 s;
            # retrying is our decision (409 only), made where we know the operation.
            cfg.retries = False
            api = client.ApiClient(configuration=cfg)
            self._clients[context] = api
            return api

    async def run(self, context: str | None, fn: Callable[[Any], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(self.api_client(context)))

    def run_watch(self, context: str | None, fn: Callable[[Any], None]) -> asyncio.Future[None]:
        """Run a watch's blocking reader on the watch executor."""
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._watch_executor, lambda: fn(self.api_client(context)))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._watch_executor.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            for api in self._clients.values():
                api.close()
            self._clients.clear()
