"""What every benchmark needs: a throw-away embedded Redis and test-mode settings."""

from __future__ import annotations

import base64
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.embedded_redis import EmbeddedRedis
from config.settings import Settings, load_settings
from secure_store.keys import generate_keypair
from tests.processes import stat_fields


@contextmanager
def bench_environment(**extra: str) -> Iterator[tuple[Settings, dict[str, str]]]:
    """Yield (settings, env) backed by a fresh embedded Redis and a temp var dir."""
    with tempfile.TemporaryDirectory(prefix="tl-bench-", dir="/tmp") as folder:
        redis_server = EmbeddedRedis(Path(folder) / "redis")
        url = os.environ.get("REDIS_URL") or redis_server.start()
        public, _ = generate_keypair()
        env = {
            "TIPLINE_ENV": "test",
            "TIPLINE_VAR_DIR": str(Path(folder) / "var"),
            "REDIS_URL": url,
            "STORE_URL": f"file://{folder}/store",
            "ANALYST_PUBLIC_KEYS": public,
            "PSEUDONYM_KEY": base64.b64encode(os.urandom(32)).decode(),
            "SESSION_KEY": base64.b64encode(os.urandom(32)).decode(),
            "CHANNELS": "simulator",
            **extra,
        }
        try:
            yield load_settings(env), env
        finally:
            redis_server.stop()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 120) -> None:
    """Wait until a server this benchmark started accepts connections."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"no server on port {port} after {timeout} s")


def spread(values: list[float], fmt: str = ".1f") -> str:
    """The range of repeated measurements, printed next to their median."""
    return f"[{min(values):{fmt}}-{max(values):{fmt}}]"


def machine_load() -> str:
    """The 1-minute load average and the cores: on a shared machine, how busy it was during a run."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def profiled() -> list[str]:
    """With BENCH_PROFILE=FILE, the interpreter options that run tipline's server under cProfile
    (written to FILE when the server stops; read it with `python -m pstats FILE`)."""
    target = os.environ.get("BENCH_PROFILE")
    return ["-m", "cProfile", "-o", target] if target else []


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far: what a server spent, whatever the machine's load."""
    fields = stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
