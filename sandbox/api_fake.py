"""What the Statuspage and PagerDuty fakes share: a loopback aiohttp server, recorded calls, and
failures on demand (an outage answering 500s, rate limits with `Retry-After`, a request carried out
whose answer is lost or held back), so tests and the shell can take the other side down and bring
it back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: Any
    status: int


@dataclass
class Fault:
    status: int
    times: int
    retry_after: str | None
    body: dict[str, Any]


@dataclass
class LostAnswer:
    """Requests of `method` whose path contains `path_part` are carried out, then their answer is lost:
    the connection closes (`released` is None) or the answer waits until `released` is set."""

    method: str
    path_part: str
    times: int
    released: asyncio.Event | None


class ApiFake:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.down = False  # every request answers 500 until it is back up
        self._faults: list[Fault] = []
        self._lost: list[LostAnswer] = []
        self._runner: web.AppRunner | None = None
        self._base: str | None = None
        self._changed = asyncio.Condition()

    @property
    def base(self) -> str:
        if self._base is None:
            raise RuntimeError("start() first")
        return self._base

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        app = web.Application(middlewares=[self._faulty])
        self.routes(app)
        # A fake does not wait for connections a killed caller left open (aiohttp would wait 60 s).
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._base = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        for lost in self._lost:  # a held answer must not keep the server's shutdown waiting
            if lost.released is not None:
                lost.released.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self: T) -> T:
        assert isinstance(self, ApiFake)
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def fail(self, status: int, *, times: int = 1, retry_after: str | None = None, error: str = "") -> None:
        """The next `times` requests answer `status` (with `Retry-After` when given)."""
        self._faults.append(Fault(status, times, retry_after, {"error": error or f"injected {status}"}))

    def drop_answers(self, method: str, path_part: str = "", *, times: int = 1) -> None:
        """The next `times` matching requests take effect, but the connection closes before the answer
        (as when the other side accepted a call and the network or our process failed before we read it)."""
        self._lost.append(LostAnswer(method, path_part, times, None))

    def hold_answers(self, method: str, path_part: str = "", *, times: int = 1) -> asyncio.Event:
        """The next `times` matching requests take effect and their answers wait until the event is set
        (a test kills the caller meanwhile); stop() sets it."""
        released = asyncio.Event()
        self._lost.append(LostAnswer(method, path_part, times, released))
        return released

    def count(self, method: str, path_part: str = "", *, status: int | None = None) -> int:
        """Answered calls of `method` whose path contains `path_part` (only those with `status` when given)."""
        return len(
            [
                c
                for c in self.calls
                if c.method == method and path_part in c.path and (status is None or c.status == status)
            ]
        )

    async def wait_for(self, predicate: Callable[[], T | None], timeout: float = 10.0) -> T:  # noqa: ASYNC109
        """Wait until `predicate()` is truthy (re-checked after every request) and return it."""
        async with self._changed:
            async with asyncio.timeout(timeout):
                result = await self._changed.wait_for(predicate)
        assert result is not None
        return result

    @web.middleware
    async def _faulty(self, request: web.Request, handler: Any) -> web.StreamResponse:
        raw = await request.read()
        try:
            body: Any = await request.json() if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        response: web.StreamResponse
        if self.down:
            response = web.json_response({"error": "Internal Server Error"}, status=500)
        elif self._faults:
            fault = self._faults[0]
            fault.times -= 1
            if fault.times <= 0:
                self._faults.pop(0)
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            response = web.json_response(fault.body, status=fault.status, headers=headers)
        else:
            response = await handler(request)
        self.calls.append(Call(request.method, request.path, body, response.status))
        async with self._changed:
            self._changed.notify_all()
        lost = next((x for x in self._lost if x.method == request.method and x.path_part in request.path), None)
        if lost is not None and 200 <= response.status < 300:
            lost.times -= 1
            if lost.times <= 0:
                self._lost.remove(lost)
            if lost.released is not None:
                await lost.released.wait()
            elif request.transport is not None:
                request.transport.close()
        return response
