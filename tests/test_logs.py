"""`LOG_FORMAT=json`: the real web and worker processes write one JSON object per line, with the
request id (echoed to the caller) or job id, and never what a reporter wrote or who they are;
library noise (transitions' per-message INFO lines) stays out."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from typing import Any

import aiohttp
import pytest

from bot.cli import main
from tests.chat import Phone, WebProcess
from tests.conftest import ROOT, run_burst_worker, worker_env
from tests.scenario import Script, complete_report

WHAT_THEY_WROTE = "Nine girls kept above the Zephyrine nail bar"
WHO = "sim-+447700900123"



def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = [line for line in text.splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # raises on any line that is not one JSON object
    assert all(isinstance(p, dict) and {"time", "level", "logger", "message"} <= set(p) for p in parsed), lines
    return parsed


async def test_web_and_worker_write_json_lines_with_ids_and_no_content(service_env: dict[str, str]) -> None:
    port = free_port()
    env = worker_env({**service_env, "LOG_FORMAT": "json", "PORT": str(port)})
    web = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env, cwd=ROOT, text=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    async with session.get(base + "/healthz") as up:
                        if up.status == 200:
                            break
                except aiohttp.ClientError:
                    time.sleep(0.05)
            await complete_report(Phone(WebProcess(session, base), sender=WHO), [], Script(description=WHAT_THEY_WROTE))
            async with session.get(base + "/readyz", headers={"X-Request-Id": "lb-trace-0001"}) as ready:
                assert ready.headers["X-Request-Id"] == "lb-trace-0001"
            async with session.get(base + "/readyz", headers={"X-Request-Id": "<script>alert(1)</script>"}) as ready:
                assert len(ready.headers["X-Request-Id"]) == 16  # a caller's odd id is replaced, not logged
    finally:
        web.terminate()
        _, web_log = web.communicate(timeout=30)
    worker = run_burst_worker({**service_env, "LOG_FORMAT": "json"})
    assert worker.returncode == 0, worker.stderr

    web_lines, worker_lines = json_lines(web_log), json_lines(worker.stderr)
    submitted = [line for line in web_lines if line["message"].startswith("report submitted for filing")]
    assert len(submitted) == 1 and len(submitted[0]["request_id"]) == 16
    filed = [line for line in worker_lines if line["message"].startswith("report filed")]
    assert len(filed) == 1 and filed[0]["job_id"].startswith("file-")
    everything = web_log + worker.stderr
    for secret in (WHAT_THEY_WROTE, "Zephyrine", "447700900123", WHO):
        assert secret not in everything
    assert not [line for line in web_lines + worker_lines if line["logger"].startswith("transitions")]


def test_a_malformed_log_format_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LOG_FORMAT", "xml")
    assert main(["flows", "check"]) == 2
    assert capsys.readouterr().err == "tipline: configuration error: LOG_FORMAT must be text or json, got 'xml'\n"
