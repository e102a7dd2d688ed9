"""The path every provider request takes, shared by the Anthropic and OpenAI endpoints.

auth → parse and validate (the endpoint's `parse`) → rate limiter → fault and latency draw →
answer → settle the limiter → rate-limit headers → log. What differs between the two APIs
(key headers, error shapes, header names, request ids) sits behind a `Dialect`; what differs
between endpoints is the `parse` function that turns a JSON body into a `Call`.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

import orjson
from aiohttp import web

from simulator.config import SimConfig
from simulator.faults import Fault, FaultInjector
from simulator.limits import RateLimiter, Rejection, Snapshot, Ticket
from simulator.records import RequestLog, RequestRecord, key_id_for

JSON_CONTENT_TYPE = "application/json"  #: of every response body, malformed ones included


class InvalidRequest(Exception):
    """A request body the real API would refuse with 400."""


class ErrorKind(StrEnum):
    """The provider errors the simulator can send; each `Dialect` gives them its shape."""

    AUTHENTICATION = "authentication"  #: 401, no API key
    INVALID_REQUEST = "invalid_request"  #: 400, bad JSON or missing fields
    RATE_LIMIT = "rate_limit"  #: 429
    SERVER = "server"  #: 500 fault
    OVERLOADED = "overloaded"  #: 529 / 503 fault


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer body and the output tokens it reports."""

    body: dict[str, Any]
    output_tokens: int


@dataclass(frozen=True, slots=True)
class Call:
    """A validated request: what the limiter charges, and how to produce the answer."""

    model: str
    input_tokens: int
    max_output_tokens: int | None  #: charged at admission; None charges 0
    answer: Callable[[], Reply]


class SimState:
    """Everything a running simulator holds: live config, limiter, faults and log."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.limiter = RateLimiter()
        self.faults = FaultInjector(config.seed)
        self.log = RequestLog(config.log_path)

    def replace_config(self, config: SimConfig) -> None:
        """Switch to `config`; a new seed restarts the fault and latency sequences."""
        if config.seed != self.config.seed:
            self.faults.reseed(config.seed)
        self.config = config

    def reset(self) -> None:
        """Forget the log, the limiter's windows, and restart the fault sequences."""
        self.log.clear()
        self.limiter.reset()
        self.faults.reseed(self.config.seed)


class Dialect(ABC):
    """What one provider API does differently around a call."""

    api: ClassVar[str]  #: limiter namespace: "anthropic" or "openai"
    request_id_header: ClassVar[str]

    @abstractmethod
    def new_request_id(self) -> str: ...

    @abstractmethod
    def api_key(self, request: web.Request) -> str | None: ...

    @abstractmethod
    def error(
        self, kind: ErrorKind, message: str, request_id: str, rejection: Rejection | None = None
    ) -> tuple[int, dict[str, Any]]:
        """The status and body of an error of `kind`."""

    @abstractmethod
    def rate_limit_headers(self, snapshot: Snapshot, now_wall_s: float) -> dict[str, str]: ...


@dataclass(slots=True)
class _Outcome:
    status: int = 200
    model: str | None = None
    key_id: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    fault: Fault | None = None


async def handle_call(
    state: SimState,
    dialect: Dialect,
    request: web.Request,
    parse: Callable[[dict[str, Any]], Call],
    *,
    metered: bool = True,
) -> web.Response:
    """Serve one provider request. `metered=False` (count_tokens) skips limits and faults."""
    arrival_wall_s, arrival_s = time.time(), time.monotonic()
    request_id = dialect.new_request_id()
    outcome = _Outcome()
    headers = {dialect.request_id_header: request_id}
    body = await _exchange(state, dialect, request, parse, metered, outcome, headers, request_id)
    state.log.add(
        RequestRecord(
            ts=arrival_wall_s,
            endpoint=request.path,
            key_id=outcome.key_id,
            model=outcome.model,
            status=outcome.status,
            input_tokens=outcome.input_tokens,
            output_tokens=outcome.output_tokens,
            latency_ms=round((time.monotonic() - arrival_s) * 1000.0, 3),
            fault=outcome.fault.value if outcome.fault else None,
            request_id=request_id,
        )
    )
    return web.Response(
        body=body, status=outcome.status, headers=headers, content_type=JSON_CONTENT_TYPE
    )


async def _exchange(
    state: SimState,
    dialect: Dialect,
    request: web.Request,
    parse: Callable[[dict[str, Any]], Call],
    metered: bool,
    outcome: _Outcome,
    headers: dict[str, str],
    request_id: str,
) -> bytes:
    """Fill `outcome` and `headers`; return the response body."""

    def fail(kind: ErrorKind, message: str, rejection: Rejection | None = None) -> bytes:
        outcome.status, error_body = dialect.error(kind, message, request_id, rejection)
        return orjson.dumps(error_body)

    api_key = dialect.api_key(request)
    if not api_key:
        return fail(ErrorKind.AUTHENTICATION, "No API key was provided.")
    outcome.key_id = key_id = key_id_for(api_key)
    try:
        payload = orjson.loads(await request.read())
        if not isinstance(payload, dict):
            raise InvalidRequest("The request body must be a JSON object.")
        call = parse(payload)
    except orjson.JSONDecodeError as err:
        return fail(ErrorKind.INVALID_REQUEST, f"The request body is not valid JSON: {err}")
    except InvalidRequest as err:
        return fail(ErrorKind.INVALID_REQUEST, str(err))
    except (AttributeError, KeyError, TypeError, ValueError) as err:  # a field of the wrong shape
        return fail(ErrorKind.INVALID_REQUEST, f"The request body is malformed: {err!r}")
    outcome.model = call.model
    if not metered:
        outcome.input_tokens = call.input_tokens
        return orjson.dumps({"input_tokens": call.input_tokens})

    config = state.config
    admitted = state.limiter.admit(
        config,
        api=dialect.api,
        key_id=key_id,
        input_tokens=call.input_tokens,
        output_tokens=call.max_output_tokens or 0,
        now_s=time.monotonic(),
    )
    if isinstance(admitted, Rejection):
        _add_limit_headers(state, dialect, key_id, headers)
        headers["retry-after"] = str(admitted.retry_after_s)
        return fail(ErrorKind.RATE_LIMIT, _rate_limit_message(admitted), admitted)
    outcome.input_tokens = call.input_tokens
    try:
        return await _answer(state, dialect, call, admitted, outcome, fail)
    finally:
        _add_limit_headers(state, dialect, key_id, headers)


async def _answer(
    state: SimState,
    dialect: Dialect,
    call: Call,
    ticket: Ticket,
    outcome: _Outcome,
    fail: Callable[[ErrorKind, str], bytes],
) -> bytes:
    """Produce an admitted call's body, injecting its drawn fault and latency."""
    config = state.config
    outcome.fault = fault = state.faults.draw_fault(config)
    delay_s = state.faults.draw_latency_s(config)
    try:
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        if fault is Fault.TIMEOUT:
            await asyncio.sleep(config.timeout_hang_s)
        if fault is Fault.ERROR_500:
            return fail(ErrorKind.SERVER, "Internal server error (injected by the simulator).")
        if fault is Fault.OVERLOADED:
            return fail(ErrorKind.OVERLOADED, "Overloaded (injected by the simulator).")
        reply = call.answer()
        outcome.output_tokens = reply.output_tokens
        body = orjson.dumps(reply.body)
        if fault is Fault.MALFORMED:
            body = body[: len(body) // 2]
        return body
    finally:
        state.limiter.settle(ticket, output_tokens=outcome.output_tokens)


def _add_limit_headers(
    state: SimState, dialect: Dialect, key_id: str, headers: dict[str, str]
) -> None:
    config = state.config
    if not config.has_limits:
        return
    snapshot = state.limiter.snapshot(
        config, api=dialect.api, key_id=key_id, now_s=time.monotonic()
    )
    headers.update(dialect.rate_limit_headers(snapshot, time.time()))


def _rate_limit_message(rejection: Rejection) -> str:
    what = {
        "rpm": "requests per minute",
        "input_tpm": "input tokens per minute",
        "output_tpm": "output tokens per minute",
        "tpm": "tokens per minute",
        "max_concurrency": "concurrent requests",
    }[rejection.limit_name]
    return (
        f"This request would exceed the rate limit of {rejection.limit} {what} "
        f"({rejection.limit_name}). Please retry after {rejection.retry_after_s} s."
    )
