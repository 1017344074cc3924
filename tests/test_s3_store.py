"""The S3 backend over real HTTP against moto's S3 server: a worker files there, each analyst reads,
a stranger cannot; every put asks for server-side encryption, grants no ACL and writes once."""

from __future__ import annotations

import io
import re
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from PIL import Image

from bot.app import make_app
from config.settings import load_settings
from secure_store.analyst import list_reports, open_media, open_report
from secure_store.backends import S3Store, StoreError, open_store
from secure_store.report import report_name
from secure_store.seal import NotForThisKey
from tests.conftest import make_analyst_key, run_burst_worker
from tests.scenario import complete_report
from tests.test_adapter_simulator import SimulatorPhone

BUCKET = "tipline-reports"
DUMMY_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A fresh S3 server state with one private bucket; dummy credentials in the environment."""
    for name, value in DUMMY_AWS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with urllib.request.urlopen(urllib.request.Request(f"{s3_endpoint}/moto-api/reset", method="POST")):
        pass
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket=BUCKET)
    return client


def photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.mark.slow
async def test_a_report_filed_to_s3_opens_with_each_analyst_key_and_not_with_a_third(
    s3: Any, s3_endpoint: str, service_env: dict[str, str], tmp_path: Any, aiohttp_client: Any
) -> None:
    first, second, stranger = (make_analyst_key(tmp_path / n, n) for n in ("first", "second", "stranger"))
    env = {**service_env, **DUMMY_AWS, "STORE_URL": f"s3://{BUCKET}/tips/2025", "S3_ENDPOINT_URL": s3_endpoint,
           "ANALYST_PUBLIC_KEYS": f"{first.public},{second.public}"}
    settings = load_settings(env)
    phone = SimulatorPhone(await aiohttp_client(make_app(settings)))
    image = photo()
    await complete_report(phone, [image])
    result = run_burst_worker(env)
    assert result.returncode == 0, result.stderr

    store = open_store(settings.store_url, s3_endpoint)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert len(keys) == 2
    assert all(re.fullmatch(r"tips/2025/(reports|media)/[0-9a-f]{32}", k) for k in keys), keys
    reports = [list_reports(store, analyst.load()) for analyst in (first, second)]
    assert [len(r) for r in reports] == [1, 1]
    assert reports[0][0].report == reports[1][0].report
    report = reports[0][0].report
    assert report is not None and report["answers"]["category"] == "labour"
    [item] = report["media"]
    for analyst in (first, second):
        assert open_media(store, analyst.load(), item["id"]) == image

    assert list_reports(store, stranger.load()) == []
    with pytest.raises(NotForThisKey):
        open_report(store, stranger.load(), report["report_id"])

    for key in keys:
        assert s3.head_object(Bucket=BUCKET, Key=key)["ServerSideEncryption"] == "AES256"
        grants = s3.get_object_acl(Bucket=BUCKET, Key=key)["Grants"]
        assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
        assert all(g["Grantee"]["Type"] == "CanonicalUser" for g in grants)


@pytest.mark.slow
def test_s3_objects_are_written_once_and_reads_of_missing_objects_say_so(s3: Any, s3_endpoint: str) -> None:
    store = S3Store(BUCKET, "p", endpoint_url=s3_endpoint)
    assert store.put_once("reports/" + "a" * 32, b"first") is True
    assert store.put_once("reports/" + "a" * 32, io.BytesIO(b"second")) is False
    assert store.get("reports/" + "a" * 32) == b"first"
    assert list(store.names("reports/")) == ["reports/" + "a" * 32]
    with pytest.raises(StoreError, match="no object"):
        store.get(report_name("b" * 32))
    store.ping()
    with pytest.raises(StoreError, match="not reachable"):
        S3Store("no-such-bucket", "", endpoint_url=s3_endpoint).ping()


def test_the_server_itself_refuses_a_second_writer(s3: Any) -> None:
    """What makes put_once safe when two workers race past the HEAD check: S3's conditional put."""
    s3.put_object(Bucket=BUCKET, Key="p/x", Body=b"one", IfNoneMatch="*")
    with pytest.raises(s3.exceptions.ClientError, match="PreconditionFailed"):
        s3.put_object(Bucket=BUCKET, Key="p/x", Body=b"two", IfNoneMatch="*")
