"""A small closed-loop HTTP load generator for Slack-signed requests (used when `wrk` is absent).

Runs in its own process (the benches start it with subprocess) so the load it makes does not
share an event loop, or a GIL, with the server it measures. ``--concurrency`` workers each send
one request, wait for the answer, and send the next, for ``--duration`` seconds (or until
``--requests`` were sent). Every request is built and signed afresh: a unique ``trigger_id``
(and, for clicks, a fresh uuid value and ``action_ts``) so no two bodies are the same and the
bot's replay check never refuses one. Latency is from just before the request is written to
the full answer read (the "ack" time Slack's 3-second limit is about).

    python -m bench.loadgen --url http://127.0.0.1:3000/slack/events --secret S \
        --concurrency 20 --duration 3 --mix status,cancel --spec spec.json

``--spec`` is a JSON file with the Slack context to put in bodies: ``response_urls`` (a list,
used round-robin; the Slack fake must allow that many uses), ``team_id``, ``user_id``,
``user_name``, ``channel_id``, ``channel_name``, ``app_id``. Prints one JSON object: count, rps,
p50/p90/p99/max in milliseconds, errors (non-200 or transport failures), busy (acks saying
the bot is busy: nothing will follow) and status counts.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import itertools
import json
import secrets
import time
import uuid
from collections import Counter
from typing import Any
from urllib.parse import urlencode

import aiohttp

KINDS = ("status", "help", "cancel")
BUSY_MARK = b"busy with other requests"  # the bot's ack when its follow-up queue is full (bot/slack/followup.py)
DEFAULT_SPEC: dict[str, Any] = {
    "response_urls": ["http://127.0.0.1:9/response/none"],
    "team_id": "T0SANDBOX",
    "team_domain": "sandbox",
    "user_id": "U0ALICE",
    "user_name": "alice",
    "channel_id": "C0OPS",
    "channel_name": "ops",
    "app_id": "A0RUNBOOKBOT",
    "verification_token": "sandbox-verification-token",
    "message_ts": "1700000000.000100",
}


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    return "v0=" + hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()


class Bodies:
    """Fresh, unique request bodies of each kind."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = {**DEFAULT_SPEC, **spec}
        self._urls = itertools.cycle(self.spec["response_urls"])
        self._n = itertools.count(1)

    def _trigger(self) -> str:
        return f"{next(self._n)}.{secrets.randbelow(10**11)}.{secrets.token_hex(16)}"

    def slash(self, text: str) -> bytes:
        s = self.spec
        form = {
            "token": s["verification_token"],
            "team_id": s["team_id"],
            "team_domain": s["team_domain"],
            "channel_id": s["channel_id"],
            "channel_name": s["channel_name"],
            "user_id": s["user_id"],
            "user_name": s["user_name"],
            "command": "/runbook",
            "text": text,
            "api_app_id": s["app_id"],
            "is_enterprise_install": "false",
            "response_url": next(self._urls),
            "trigger_id": self._trigger(),
        }
        return urlencode(form).encode()

    def cancel_click(self) -> bytes:
        s = self.spec
        payload = {
            "type": "block_actions",
            "user": {"id": s["user_id"], "username": s["user_name"], "name": s["user_name"], "team_id": s["team_id"]},
            "api_app_id": s["app_id"],
            "token": s["verification_token"],
            "team": {"id": s["team_id"], "domain": s["team_domain"]},
            "is_enterprise_install": False,
            "enterprise": None,
            "channel": {"id": s["channel_id"], "name": s["channel_name"]},
            "container": {
                "type": "message",
                "message_ts": s["message_ts"],
                "channel_id": s["channel_id"],
                "is_ephemeral": False,
            },
            "trigger_id": self._trigger(),
            "response_url": next(self._urls),
            "actions": [
                {
                    "action_id": "runbook_cancel",
                    "block_id": "execution_actions",
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Cancel"},
                    "value": str(uuid.uuid4()),  # no such request: the bot acks, then says so
                    "action_ts": f"{time.time():.6f}",
                }
            ],
            "message": {"type": "message", "ts": s["message_ts"], "text": "preview", "blocks": []},
            "state": {"values": {}},
        }
        return urlencode({"payload": json.dumps(payload)}).encode()

    def make(self, kind: str) -> bytes:
        if kind == "status":
            return self.slash("status backend")
        if kind == "help":
            return self.slash("help")
        if kind == "cancel":
            return self.cancel_click()
        raise ValueError(kind)


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


async def run(
    url: str,
    secret: str,
    *,
    concurrency: int,
    duration: float,
    max_requests: int | None,
    mix: list[str],
    spec: dict[str, Any],
    request_timeout: float,
) -> dict[str, Any]:
    bodies = Bodies(spec)
    key = secret.encode()
    kinds = itertools.cycle(mix)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    sent = busy = 0
    deadline = time.monotonic() + duration

    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=request_timeout)
    ) as session:

        async def worker() -> None:
            nonlocal sent, busy
            while time.monotonic() < deadline and (max_requests is None or sent < max_requests):
                sent += 1
                body = bodies.make(next(kinds))
                ts = str(int(time.time()))
                headers = {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Slack-Request-Timestamp": ts,
                    "X-Slack-Signature": sign(key, ts, body),
                }
                started = time.perf_counter()
                try:
                    async with session.post(url, data=body, headers=headers) as resp:
                        answer = await resp.read()
                        status = str(resp.status)
                    if status == "200" and BUSY_MARK in answer:
                        busy += 1
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status = type(exc).__name__
                latencies.append(time.perf_counter() - started)
                statuses[status] += 1

        began = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.monotonic() - began

    ms = sorted(v * 1000 for v in latencies)
    errors = sum(n for status, n in statuses.items() if status != "200")
    return {
        "concurrency": concurrency,
        "count": len(ms),
        "seconds": round(elapsed, 3),
        "rps": round(len(ms) / elapsed, 1) if elapsed else 0.0,
        "p50": round(percentile(ms, 0.50), 2),
        "p90": round(percentile(ms, 0.90), 2),
        "p99": round(percentile(ms, 0.99), 2),
        "max": round(ms[-1], 2) if ms else 0.0,
        "errors": errors,
        "busy": busy,
        "statuses": dict(statuses),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds (default 3)")
    parser.add_argument("--requests", type=int, default=None, help="stop after this many requests")
    parser.add_argument("--mix", default="status,cancel", help=f"comma-separated kinds from {KINDS}, round-robin")
    parser.add_argument("--spec", default=None, help="JSON file with the Slack context (see module doc)")
    parser.add_argument("--timeout", type=float, default=10.0, help="per-request timeout, seconds")
    args = parser.parse_args(argv)
    mix = [k.strip() for k in args.mix.split(",") if k.strip()]
    for kind in mix:
        if kind not in KINDS:
            parser.error(f"unknown kind {kind!r}; choose from {KINDS}")
    spec: dict[str, Any] = {}
    if args.spec:
        with open(args.spec, encoding="utf-8") as f:
            spec = json.load(f)
    duration = args.duration if args.requests is None else max(args.duration, 3600.0)
    result = asyncio.run(
        run(
            args.url,
            args.secret,
            concurrency=args.concurrency,
            duration=duration,
            max_requests=args.requests,
            mix=mix,
            spec=spec,
            request_timeout=args.timeout,
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
