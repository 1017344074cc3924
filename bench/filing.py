"""Filing throughput: sealing and filing a report with 3 x 1 MB media into S3 (moto's server), side by
side with raw boto3 uploads of the same bytes to the same server. Bar: at least 70% of raw.

Filing uploads media side by side (as the worker does), so raw uploads side by side are printed too:
that ratio shows what sealing and the report object itself cost."""

from __future__ import annotations

import os
import secrets
import statistics
import subprocess
import sys
import time

import boto3

from bench.common import free_port, wait_for_port
from secure_store.backends import S3Store
from secure_store.filing import each_at_once, file_media, file_report
from secure_store.keys import generate_keypair, parse_public_keys
from secure_store.report import SCHEMA_ID, media_name, now_iso

ROUNDS = 40
MB = 1024 * 1024


def main() -> None:
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "us-east-1"})
    # S3 runs in its own process, as it would in production: the server's work must not share this
    # process's interpreter lock with the sealing being measured.
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port)
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket="bench")
    store = S3Store("bench", "tips", client=client)
    recipients = parse_public_keys([generate_keypair()[0], generate_keypair()[0]])
    media = [b"%PDF-1.7\n" + os.urandom(MB) for _ in range(3)]

    def raw() -> None:
        for blob in media:
            client.put_object(Bucket="bench", Key=f"raw/{secrets.token_hex(16)}", Body=blob,
                              ServerSideEncryption="AES256")

    def raw_at_once() -> None:
        def put(blob: bytes) -> None:
            client.put_object(Bucket="bench", Key=f"raw/{secrets.token_hex(16)}", Body=blob,
                              ServerSideEncryption="AES256")

        each_at_once(put, media)

    def tipline() -> None:
        def one(blob: bytes) -> dict[str, str]:
            media_id = secrets.token_hex(16)
            file_media(store, recipients, media_id, blob)
            return {"id": media_id, "kind": "document", "status": "stored", "object": media_name(media_id)}

        entries = each_at_once(one, media)  # as workers.jobs.file_report does
        file_report(store, recipients, {
            "schema": SCHEMA_ID, "report_id": secrets.token_hex(16), "status": "complete", "urgent": False,
            "channel": "sms", "language": "en", "submitted_at": now_iso(), "filed_at": now_iso(),
            "answers": {"description": "bench"}, "media": entries})

    runs = {"raw boto3": raw, "raw boto3, 3 at once": raw_at_once, "tipline filing": tipline}
    timings: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():
        run()
    for _ in range(ROUNDS):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            timings[name].append(time.perf_counter() - started)
    server.terminate()
    server.wait()
    for name, values in timings.items():
        median = statistics.median(values)
        print(f"{name:21s} p50 {median * 1000:7.1f} ms  reports/s {1 / median:6.1f}")
    ours = statistics.median(timings["tipline filing"])
    ratio = statistics.median(timings["raw boto3"]) / ours
    print(f"tipline filing runs at {ratio:.0%} of raw boto3 throughput (bar: 70%)")
    same_footing = statistics.median(timings["raw boto3, 3 at once"]) / ours
    print(f"  (tipline uploads media side by side; against raw uploads also side by side: {same_footing:.0%})")


if __name__ == "__main__":
    main()
