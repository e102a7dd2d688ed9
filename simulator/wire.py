"""Small wire-format helpers shared by both APIs: ids, auth headers, time formats."""

from __future__ import annotations

import math
import secrets
import time

from aiohttp import web

ID_HEX_CHARS = 24  #: random hex digits after an id's prefix (msg_, toolu_, chatcmpl-, ...)
BEARER_PREFIX = "bearer "  #: compared case-insensitively, as HTTP auth schemes are


def new_id(prefix: str) -> str:
    """A fresh random id such as `msg_5f0c...`."""
    return prefix + secrets.token_hex(ID_HEX_CHARS // 2)


def bearer_token(request: web.Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    header = request.headers.get("Authorization")
    if header is None or not header[: len(BEARER_PREFIX)].lower() == BEARER_PREFIX:
        return None
    return header[len(BEARER_PREFIX) :].strip() or None


def rfc3339(unix_s: float) -> str:
    """`unix_s` rounded up to the second, as `2025-08-21T12:40:59Z`."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(math.ceil(unix_s)))


def go_duration(seconds: float) -> str:
    """A duration as OpenAI's headers write it (Go style): `120ms`, `1s`, `17.5s`, `6m0s`."""
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return f"{max(math.ceil(seconds * 1000), 1)}ms"
    millis = math.ceil(seconds * 1000)
    minutes, millis = divmod(millis, 60_000)
    secs = f"{millis / 1000:.3f}".rstrip("0").rstrip(".")
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"
