"""Fetching provider media without SSRF: allowlisted hosts on every hop, redirects followed by
hand, credentials only on the first hop, size and type limits enforced while streaming.

Any adapter may use it: give a `FetchPolicy` and, if the provider wants it, an auth header for
the first URL. Permanent refusals raise `MediaRefused` (the report is filed with a note);
passing trouble (5xx, 429, network) raises `FetchUnavailable` so the filing job retries.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp

from adapters.base import MediaLimits, MediaRefused
from config.errors import Transient

REDIRECTS = frozenset({301, 302, 303, 307, 308})
CHUNK = 64 * 1024
_TYPE_CHARS = re.compile(r"[^a-z0-9/.+-]")
CONNECT_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10)
"""Per connection attempt; the whole fetch is bounded by its policy's `timeout_seconds`."""


class FetchUnavailable(Transient):
    """The provider could not serve the media right now; try again later. Safe to log."""


@dataclass(frozen=True)
class FetchPolicy:
    """Where media may come from. `auth_hosts`: the only hosts that may see the credentials."""

    hosts: frozenset[str]
    limits: MediaLimits
    https_only: bool = True
    max_redirects: int = 5
    timeout_seconds: float = 60.0
    auth_hosts: frozenset[str] = frozenset()


DEFAULT_PORTS = {"https": 443, "http": 80}


def origin(url: str) -> tuple[str, int] | None:
    """(host, port) a URL would connect to, the scheme's port when none is written; None when the
    URL names no host or a malformed port."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    return (host, port) if host and port else None


def allowlisted(entries: frozenset[str], scheme: str, place: tuple[str, int]) -> bool:
    """True when `place` is one of `entries`: `host` (the scheme's own port) or `host:port`."""
    return any(origin(f"{scheme}://{entry}") == place for entry in entries)


def allowed(url: str, policy: FetchPolicy) -> bool:
    """True when `url` may be requested under `policy`: scheme, host and port all allowlisted."""
    parts = urlsplit(url)
    schemes = ("https",) if policy.https_only else ("https", "http")
    place = origin(url)
    return (parts.scheme in schemes and place is not None and allowlisted(policy.hosts, parts.scheme, place)
            and not parts.username and not parts.password)


def _content_type(response: aiohttp.ClientResponse, declared: str | None) -> str:
    served = _clean(response.headers.get("Content-Type", ""))
    if served and served not in ("application/octet-stream", "binary/octet-stream"):
        return served
    return _clean(declared or "") or served or "application/octet-stream"


def _clean(content_type: str) -> str:
    """The bare media type, lower-case, reduced to safe characters (it ends up in notes and logs)."""
    return _TYPE_CHARS.sub("", content_type.split(";")[0].strip().lower())[:80]


async def fetch(
    url: str, policy: FetchPolicy, auth_header: str | None = None, declared_type: str | None = None
) -> tuple[bytes, str]:
    """GET `url` within `policy`; return (bytes, content type). `declared_type` is what the
    provider said the media is, used only when the server answers with a generic type.
    `policy.timeout_seconds` bounds the whole fetch, every redirect hop and the body included: a
    host that stalls, drips or hangs up raises `FetchUnavailable` then, and no partial file is returned."""
    try:
        async with asyncio.timeout(policy.timeout_seconds):
            return await _follow(url, policy, auth_header, declared_type)
    except TimeoutError:
        raise FetchUnavailable("media host unreachable (TimeoutError)") from None


async def _follow(url: str, policy: FetchPolicy, auth_header: str | None,
                  declared_type: str | None) -> tuple[bytes, str]:
    async with aiohttp.ClientSession(timeout=CONNECT_TIMEOUT) as session:
        for hop in range(policy.max_redirects + 1):
            if not allowed(url, policy):
                raise MediaRefused("media is not hosted where this channel's media may come from")
            headers = {"Accept": "*/*"}
            place = origin(url)
            if auth_header and hop == 0 and place and allowlisted(policy.auth_hosts, urlsplit(url).scheme, place):
                headers["Authorization"] = auth_header
            try:
                async with session.get(url, headers=headers, allow_redirects=False) as response:
                    if response.status in REDIRECTS:
                        target = response.headers.get("Location")
                        if not target:
                            raise MediaRefused("media link redirects nowhere")
                        url = urljoin(url, target)
                        continue
                    return await _read(response, policy.limits, declared_type)
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise FetchUnavailable(f"media host unreachable ({type(exc).__name__})") from None
        raise MediaRefused("media link redirects too many times")


async def _read(response: aiohttp.ClientResponse, limits: MediaLimits, declared: str | None) -> tuple[bytes, str]:
    if response.status == 429 or response.status >= 500:
        raise FetchUnavailable(f"media host answered {response.status}")
    if response.status != 200:
        raise MediaRefused(f"media is no longer available (HTTP {response.status})")
    content_type = _content_type(response, declared)
    if content_type not in limits.allowed_types:
        raise MediaRefused(f"files of type {content_type} are not accepted")
    if response.content_length is not None and response.content_length > limits.max_bytes:
        raise MediaRefused(f"file is larger than {limits.max_bytes} bytes")
    body = bytearray()
    async for chunk in response.content.iter_chunked(CHUNK):
        body += chunk
        if len(body) > limits.max_bytes:
            raise MediaRefused(f"file is larger than {limits.max_bytes} bytes")
    return bytes(body), content_type
