"""Rolling deploys and roll-back between the previous release (git tag `v0.2.0`, commit d77dd7a, kept as
`tests/releases/v0.2.0.tar.gz` so a clone without tags or history has it too, built into its own
venv from its own constraints) and this one, sharing one Redis and one store as they do while a
deploy is under way:

- upgrade: the old web starts conversations and queues confirmed reports; this release's web
  finishes the conversations and this release's worker files everything;
- roll-back: this release starts and queues; the old web finishes and the old worker files; the
  old analyst command opens what this release filed.

Building the old release takes a while the first time (it is cached in `.venv/releases/`).
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient
from nacl.secret import SecretBox

from bot.app import make_app
from bot.cli_jobs import problem_jobs
from bot.jobs import PAYLOAD_FORMAT, Job
from bot.queue import enqueue, make_queue
from config.settings import Settings
from secure_store.analyst import list_reports
from secure_store.backends import FileStore
from tests.chat import Phone
from tests.conftest import ROOT, AnalystKey, run_burst_worker, worker_env
from tests.scenario import RECEIPT, Script, complete_report, joined, walk_to, word

PREVIOUS = "v0.2.0"
RELEASES = ROOT / ".venv" / "releases"

DRIVER = textwrap.dedent('''
    """Runs inside the previous release (its own code and venv): drive its web like a reporter."""
    import asyncio, json, sys
    import aiohttp
    from tests.chat import Phone
    from tests.scenario import RECEIPT, Script, complete_report, joined, walk_to, word

    class Server:
        def __init__(self, session, base):
            self.session, self.base = session, base
        def post(self, path, **kwargs):
            return self.session.post(self.base + path, **kwargs)

    async def main(base, action, sender, description):
        async with aiohttp.ClientSession() as session:
            phone = Phone(Server(session, base), sender=sender)
            script = Script(description=description)
            if action == "to-review":
                await walk_to(phone, "review", script)
                print(json.dumps({"done": "review"}))
            elif action == "confirm":
                final = await phone.say(word("en", "yes"))
                found = RECEIPT.search(joined(final))
                print(json.dumps({"receipt": found.group(0) if found else None, "replies": final}))
            else:
                print(json.dumps({"receipt": await complete_report(phone, [], script)}))

    asyncio.run(main(*sys.argv[1:]))
''')


def previous_release() -> Path:
    """The previous release's source and venv (built once): `<dir>/src`, `<dir>/venv`."""
    home = RELEASES / PREVIOUS
    if (home / "ready").exists():
        return home
    source = ROOT / "tests" / "releases" / f"{PREVIOUS}.tar.gz"
    assert source.exists(), f"{source} is missing: make it with git archive {PREVIOUS} | gzip"
    subprocess.run(["rm", "-rf", str(home)], check=True)
    (home / "src").mkdir(parents=True)
    subprocess.run(["tar", "-xzf", str(source), "-C", str(home / "src")], check=True)
    subprocess.run([sys.executable, "-m", "venv", str(home / "venv")], check=True, timeout=120)
    pip = [str(home / "venv" / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check"]
    built = subprocess.run([*pip, "-c", str(home / "src" / "constraints.txt"), "-e", str(home / "src")],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    (home / "src" / "upgrade_driver.py").write_text(DRIVER)
    (home / "ready").write_text(PREVIOUS)
    return home


class OldRelease:
    """Processes of the previous release against this test's Redis and store."""

    def __init__(self, home: Path, service_env: dict[str, str]) -> None:
        self.home = home
        self.python = str(home / "venv" / "bin" / "python")
        self.env = {**worker_env(service_env), "PYTHONPATH": str(home / "src")}
        self.web: subprocess.Popen[str] | None = None
        self.base = ""

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.python, *args], env=self.env, cwd=self.home / "src", capture_output=True,
                              text=True, timeout=timeout)

    def start_web(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        self.web = subprocess.Popen([self.python, "-m", "bot.cli", "serve"], env={**self.env, "PORT": str(port)},
                                    cwd=self.home / "src", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    text=True)
        import urllib.request

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        pytest.fail("the previous release's web process did not start")

    def stop_web(self) -> None:
        if self.web is not None:
            self.web.terminate()
            self.web.communicate(timeout=30)
            self.web = None

    def reporter(self, action: str, sender: str, description: str) -> dict[str, Any]:
        done = self.run("upgrade_driver.py", self.base, action, sender, description)
        assert done.returncode == 0, done.stderr[-3000:]
        answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return answer

    def worker(self) -> None:
        done = self.run("-m", "bot.cli", "worker", "--burst", timeout=180)
        assert done.returncode == 0, done.stderr[-3000:]

    def list_reports(self, key: AnalystKey) -> str:
        done = self.run("-m", "bot.cli", "reports", "list", "--key", str(key.path))
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout



def described(report: dict[str, Any]) -> str:
    """What the reporter wrote at the description step (one or several messages)."""
    text = report["answers"].get("description")
    return " ".join(text) if isinstance(text, list) else str(text)

@pytest.fixture
def old(service_env: dict[str, str]) -> Iterator[OldRelease]:
    release = OldRelease(previous_release(), service_env)
    yield release
    release.stop_web()


@pytest.fixture
async def client(settings: Settings, aiohttp_client: Any) -> TestClient[Any, Any]:
    return await aiohttp_client(make_app(settings))  # type: ignore[no-any-return]


async def confirm(phone: Phone) -> str:
    final = await phone.say(word("en", "yes"))
    found = RECEIPT.search(joined(final))
    assert found is not None, joined(final)
    return found.group(0)


def descriptions(store: FileStore, key: AnalystKey) -> set[str]:
    return {described(o.report) for o in list_reports(store, key.load()) if o.report}


async def test_upgrade_this_release_finishes_what_the_previous_one_started(
    old: OldRelease, client: TestClient[Any, Any], service_env: dict[str, str], store: FileStore,
    analyst_key: AnalystKey,
) -> None:
    old.start_web()
    old.reporter("to-review", "sim-upgrade-a", "Started before the deploy, confirmed after")
    queued = old.reporter("complete", "sim-upgrade-b", "Confirmed before the deploy, filed after")
    assert queued["receipt"]
    old.stop_web()

    receipt = await confirm(Phone(client, sender="sim-upgrade-a"))
    assert receipt
    done = run_burst_worker(service_env)
    assert done.returncode == 0, done.stderr
    assert {"Started before the deploy, confirmed after", "Confirmed before the deploy, filed after"} <= \
        descriptions(store, analyst_key)


async def test_roll_back_the_previous_release_finishes_what_this_one_started(
    old: OldRelease, client: TestClient[Any, Any], store: FileStore, analyst_key: AnalystKey,
) -> None:
    await walk_to(Phone(client, sender="sim-rollback-c"), "review",
                  Script(description="Started on the new release, confirmed after the roll-back"))
    assert await complete_report(Phone(client, sender="sim-rollback-d"), [],
                                 Script(description="Confirmed on the new release, filed by the old worker"))

    old.start_web()
    answer = old.reporter("confirm", "sim-rollback-c", "")
    assert answer["receipt"], answer["replies"]
    old.worker()
    assert {"Started on the new release, confirmed after the roll-back",
            "Confirmed on the new release, filed by the old worker"} <= descriptions(store, analyst_key)
    listed = old.list_reports(analyst_key)
    assert len(listed.strip().splitlines()) == 2, listed



def test_a_job_queued_by_a_newer_release_waits_for_a_worker_that_reads_it(
    settings: Settings, service_env: dict[str, str], redis_client: redis.Redis,
) -> None:
    queue = make_queue(redis_client, settings.queue_name)
    future = json.dumps({"v": PAYLOAD_FORMAT + 1, "report_id": "from-the-future"}).encode()
    enqueue(queue, Job.FILE_REPORT, base64.b64encode(SecretBox(settings.session_key).encrypt(future)).decode(),
            "file-from-the-future")
    done = run_burst_worker(service_env)
    assert done.returncode == 0, done.stderr
    [line] = problem_jobs(queue)
    assert (line.job_id, line.state) == ("file-from-the-future", "retrying")  # not failed: a newer worker will
