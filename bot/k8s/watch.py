"""A Kubernetes watch: one streaming request, read on a thread, its events handed to the event loop.

The client library is synchronous, so the stream is read on a thread of the watch executor
(its own pool, so a long rollout never holds a thread the short reads need). Leaving the
`async for` early — done, deadline, cancellation — shuts the socket down, which ends the
blocking read at once instead of when the server next writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncGenerator, Callable
from typing import Any

_END = object()


async def events(
    run_on_thread: Callable[[Callable[[Any], None]], asyncio.Future[None]], open_stream: Callable[[Any], Any]
) -> AsyncGenerator[dict[str, Any], None]:
    """Each watch event ({"type": …, "object": …}) until the server ends the stream.

    `open_stream(api)` sends the watch request (on the thread) and returns the REST response;
    errors opening or reading it are raised here, in the caller's task.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()
    opened: list[Any] = []
    stopped = threading.Event()

    def read(api: Any) -> None:
        response = open_stream(api)
        opened.append(response)
        pending = b""
        try:
            for chunk in response.response.stream(amt=None, decode_content=False):
                if stopped.is_set():  # the caller left while the request was still being sent
                    return
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if line.strip():
                        loop.call_soon_threadsafe(queue.put_nowait, json.loads(line))
        finally:
            response.response.release_conn()

    def finished(future: asyncio.Future[None]) -> None:
        queue.put_nowait(future.exception() if not future.cancelled() and future.exception() else _END)

    reading = run_on_thread(read)
    reading.add_done_callback(finished)
    try:
        while True:
            item = await queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stopped.set()
        if not reading.done() and opened:
            with contextlib.suppress(Exception):  # already closed by the server: nothing left to stop
                opened[0].response.shutdown()
