"""Shared fixtures: a real Redis (REDIS_URL, or the embedded server), flushed around each test;
settings for a throw-away var dir; the web app; real RQ worker processes."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
from redis.asyncio import Redis as AsyncRedis
from rq import Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.intermediate_queue import IntermediateQueue
from rq.registry import ScheduledJobRegistry, StartedJobRegistry

from bot.embedded_redis import EmbeddedRedis
from config.settings import Settings, load_settings
from secure_store.backends import FileStore
from secure_store.keys import generate_keypair, load_private_key, write_private_key
from tests.processes import stat_fields

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """REDIS_URL when set (CI may provide one), else a real embedded Redis for the whole run."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    with tempfile.TemporaryDirectory(prefix="tl-redis-", dir="/tmp") as folder:
        server = EmbeddedRedis(Path(folder))
        yield server.start()
        server.stop()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Redis of the test's own, with AOF on as production runs it, to stop and start."""
    server = EmbeddedRedis(tmp_path / "own-redis", append_only=True)
    server.start()
    yield server
    server.stop()


def stop_redis(server: EmbeddedRedis) -> None:
    """An operator's restart, first half: SHUTDOWN (AOF written); nothing listens until `start()`."""
    client = redis.Redis(unix_socket_path=str(server.socket))
    try:
        client.shutdown(save=True)
    except redis.ConnectionError:
        pass
    finally:
        client.close()
    server._server = None
    server.socket.unlink(missing_ok=True)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
async def async_redis(redis_url: str, redis_client: redis.Redis) -> AsyncIterator[AsyncRedis]:
    """The service's asyncio client on the test Redis (flushed around each test by `redis_client`)."""
    client = AsyncRedis.from_url(redis_url)
    yield client
    await client.aclose()


@dataclasses.dataclass
class AnalystKey:
    path: Path
    public: str

    def load(self):  # type: ignore[no-untyped-def]
        return load_private_key(self.path)


def make_analyst_key(folder: Path, name: str = "analyst") -> AnalystKey:
    public, content = generate_keypair()
    path = folder / f"{name}-key.json"
    write_private_key(path, content)
    return AnalystKey(path, public)


@pytest.fixture
def analyst_key(tmp_path: Path) -> AnalystKey:
    return make_analyst_key(tmp_path / "analyst-machine")


@pytest.fixture
def service_env(request: pytest.FixtureRequest, tmp_path: Path, redis_url: str, redis_client: redis.Redis,
                analyst_key: AnalystKey) -> dict[str, str]:
    """Environment for the service's processes: test mode, fresh secrets, a private var dir
    (`@pytest.mark.redis_format(2)`: the processes write Redis format 2)."""
    var = tmp_path / "var"
    marker = request.node.get_closest_marker("redis_format")
    return {
        **({"REDIS_FORMAT": str(marker.args[0])} if marker else {}),
        "TIPLINE_ENV": "test",
        "TIPLINE_VAR_DIR": str(var),
        "REDIS_URL": redis_url,
        "STORE_URL": f"file://{var / 'store'}",
        "ANALYST_PUBLIC_KEYS": analyst_key.public,
        "PSEUDONYM_KEY": base64.b64encode(os.urandom(32)).decode(),
        "SESSION_KEY": base64.b64encode(os.urandom(32)).decode(),
        "CHANNELS": "simulator",
        "QUEUE_NAME": "tipline-test",
        "PUBLIC_BASE_URL": "http://127.0.0.1:8080",
        "ALBUM_QUIET_MS": "150",
    }


@pytest.fixture
def settings(service_env: dict[str, str]) -> Settings:
    return load_settings(service_env)


@pytest.fixture
def store(settings: Settings) -> FileStore:
    return FileStore(Path(settings.store_url.removeprefix("file://")))


def worker_env(service_env: dict[str, str]) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("TIPLINE_", "TWILIO_", "TELEGRAM_"))}
    return {**keep, **service_env, "PYTHONPATH": str(ROOT)}


def run_burst_worker(service_env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a real RQ worker process until the queue is empty."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "worker", "--burst"],
        env=worker_env(service_env), cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False,
    )


def start_worker(service_env: dict[str, str]) -> subprocess.Popen[str]:
    """Start a long-running real RQ worker process in its own process group, so that
    `os.killpg(worker.pid, SIGKILL)` also kills the job's work-horse child (caller stops it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "worker"],
        env=worker_env(service_env), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        text=True, start_new_session=True,
    )


def recover_abandoned_jobs(queue: Queue) -> None:
    """Do at once what RQ's own maintenance does for a killed worker's jobs after its grace periods:
    an abandoned started job goes back for a retry, and so does a job caught between the queue and
    the started registry (RQ's intermediate queue); retries waiting for their backoff run now."""
    started = StartedJobRegistry(queue=queue)
    started.cleanup(timestamp=time.time() + 3600)
    scheduled = ScheduledJobRegistry(queue=queue)
    waiting = set(scheduled.get_job_ids()) | set(queue.get_job_ids()) | set(started.get_job_ids())
    intermediate = IntermediateQueue(queue.key, connection=queue.connection)
    for job_id in intermediate.get_job_ids():
        intermediate.remove(job_id)
        job = queue.fetch_job(job_id)
        if job is not None and job_id not in waiting:
            queue.enqueue_job(job)
    for job_id in scheduled.get_job_ids():
        try:
            scheduled.requeue(job_id)
        except NoSuchJobError:  # finished meanwhile (results are not kept): nothing to run
            scheduled.remove(job_id)
        except InvalidJobOperation:  # no longer scheduled: already moved on
            pass


def filing_jobs_running(queue: Queue) -> list[str]:
    """Ids of the media and report jobs a worker is running now (not the quiet sweeper's)."""
    return [j for j in StartedJobRegistry(queue=queue).get_job_ids() if j.startswith(("media-", "file-"))]


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, read from /proc (children first found, then theirs)."""
    children = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            parent = int(stat_fields(int(entry.name))[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid:
            children.append(int(entry.name))
    return children + [grandchild for child in children for grandchild in descendants(child)]


def kill_worker(worker: subprocess.Popen[str]) -> None:
    """SIGKILL a worker started by `start_worker`, as a machine that dies would: its process group
    (its scheduler) and every process below it, the job's work horse included, which RQ moves into a
    process group of its own (`os.setpgrp()` in `fork_work_horse`: a kill of the worker's group alone
    left the horse running its job, holding its file's claim); then wait until none is left."""
    below = descendants(worker.pid)
    os.killpg(worker.pid, signal.SIGKILL)
    for pid in below:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    worker.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not any(running(pid) for pid in [worker.pid, *below]):
            return
        time.sleep(0.01)


def running(pid: int) -> bool:
    """Whether `pid` is a live process (not gone, not a zombie waiting to be reaped)."""
    try:
        state = stat_fields(pid)[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
