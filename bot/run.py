"""Running the processes: `serve` (web), `worker` (RQ), `scheduler` (delayed jobs), and `dev` (all three,
on embedded defaults)."""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
import signal
import subprocess
import sys

from aiohttp import web

from bot.embedded_redis import EmbeddedRedis
from config.dev import ensure_dev_settings
from config.settings import Settings, load_settings

log = logging.getLogger("tipline")

MAINTENANCE_SECONDS = 10
"""How often each worker does RQ's upkeep (RQ's default: 10 minutes): puts jobs of a killed worker back
for retry (their claim lapses 15 s after the last heartbeat: workers/worker.py), and starts its fallback
scheduler when no scheduler holds the lock (61 s after its holder died; `tipline scheduler` takes over in
seconds). So a SIGKILLed worker's job runs again within about half a minute."""
BURST_MAINTENANCE_SECONDS = 600
"""A burst worker (`tipline worker --burst`: do what is queued now, then stop) keeps RQ's default: its
upkeep would start a scheduler process mid-burst, which keeps moving due retries (2, 5, 10, 20 s...) into
the queue, so a slow burst never found the queue empty."""
HEARTBEAT_SECONDS = 5
WORKER_TTL = MAINTENANCE_SECONDS + 15
"""An idle worker waits for a job at most `WORKER_TTL - 15` seconds at a time (RQ's default: 405) and
does its upkeep between two waits: so the upkeep runs every 10 s on an idle worker too."""

WORKER_CLASS = "workers.worker.StartedOnceWorker"
"""RQ's forking worker with the job modules and worker context loaded once, before it forks
(named by dotted path: bot never imports workers)."""


def _settings_with_redis() -> tuple[Settings, EmbeddedRedis | None]:
    settings = ensure_dev_settings(load_settings())
    for note in settings.dev_notes:
        log.info("dev mode: %s", note)
    if settings.redis_url:
        return settings, None
    embedded = EmbeddedRedis(settings.var_dir)
    url = embedded.start()
    os.environ["REDIS_URL"] = url
    return dataclasses.replace(settings, redis_url=url), embedded


def run_web() -> int:
    from bot.app import make_app

    settings, embedded = _settings_with_redis()
    try:
        app = make_app(settings)
        gc.freeze()  # the ~80k objects loaded to start live as long as the process: a full collection
        # walking them held every webhook for 10-20 ms (the p99 at half load)
        web.run_app(app, host=settings.host, port=settings.port, print=None, access_log=None)
    finally:
        if embedded:
            embedded.stop()
    return 0


def run_worker(burst: bool = False) -> int:
    from rq.serializers import JSONSerializer
    from rq.utils import import_attribute

    from bot.queue import make_queue, note_failure
    from bot.redis_connection import sync_redis

    settings, embedded = _settings_with_redis()
    connection = sync_redis(settings)
    queue = make_queue(connection, settings.queue_name)
    if settings.followup_private_key:
        from bot.followup import start_poll

        start_poll(connection, queue, settings.followup_poll_seconds)
    worker_class = import_attribute(WORKER_CLASS)
    worker = worker_class([queue], connection=connection, serializer=JSONSerializer,
                          maintenance_interval=BURST_MAINTENANCE_SECONDS if burst else MAINTENANCE_SECONDS,
                          job_monitoring_interval=HEARTBEAT_SECONDS,
                          worker_ttl=WORKER_TTL,
                          exception_handlers=[note_failure])
    try:
        worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
    finally:
        if embedded:
            embedded.stop()
    return 0


def run_scheduler() -> int:
    from bot.redis_connection import sync_redis
    from bot.scheduler import serve

    settings, embedded = _settings_with_redis()
    try:
        serve(sync_redis(settings), settings.queue_name)
    finally:
        if embedded:
            embedded.stop()
    return 0


def run_dev() -> int:
    """Everything on embedded defaults: Redis, file store, dev keys, one worker, the scheduler,
    web + simulator."""
    from bot.app import make_app

    settings, embedded = _settings_with_redis()
    env = {**os.environ, "REDIS_URL": settings.redis_url or ""}
    worker = subprocess.Popen([sys.executable, "-m", "bot.cli", "worker"], env=env)
    scheduler = subprocess.Popen([sys.executable, "-m", "bot.cli", "scheduler"], env=env)
    try:
        app = make_app(settings)
        log.info("store: %s", settings.store_url)
        log.info("simulator ready: open %s/simulator", settings.public_base_url)
        print(f"\n  tipline is running. Open {settings.public_base_url}/simulator to chat as a reporter.\n"
              f"  Read filed reports in the analysts' workspace: "
              f"tipline console --key {settings.var_dir}/dev-analyst-key.json\n",
              flush=True)
        web.run_app(app, host=settings.host, port=settings.port, print=None, access_log=None)
    finally:
        for process in (scheduler, worker):
            process.send_signal(signal.SIGTERM)
        for process in (scheduler, worker):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        if embedded:
            embedded.stop()
    return 0
