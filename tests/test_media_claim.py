"""The claim on one file (workers/media_claim.py) against a real Redis: one holder at a time, a
waiter that gives up after its bound, a claim that lapses by itself, and a waiter woken by the release."""

from __future__ import annotations

import threading

import pytest
import redis

from workers.media_claim import CLAIM_SECONDS, FileBusy, fetching


def test_a_second_claim_waits_no_longer_than_its_bound_and_a_claim_always_lapses(redis_client: redis.Redis) -> None:
    with fetching(redis_client, "f" * 32):
        [key] = redis_client.keys("tl:mc:*")
        assert 0 < redis_client.pttl(key) <= CLAIM_SECONDS * 1000
        with pytest.raises(FileBusy, match="another worker"), fetching(redis_client, "f" * 32, wait=0):
            pass
    assert redis_client.keys("tl:mc:*") == []
    with fetching(redis_client, "f" * 32, wait=0):  # free again once let go
        pass


def test_a_waiter_is_woken_by_the_release(redis_client: redis.Redis) -> None:
    held, got = threading.Event(), threading.Event()

    def second() -> None:
        with fetching(redis_client, "a" * 32, wait=60):
            got.set()

    with fetching(redis_client, "a" * 32):
        waiter = threading.Thread(target=second)
        waiter.start()
        while not redis_client.pubsub_channels("tl:mc:*"):  # the waiter listens for the release
            held.wait(0.005)
        assert not got.is_set()
    waiter.join(timeout=30)
    assert got.is_set()
