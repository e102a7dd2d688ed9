"""What every provider adapter returns and raises.

An adapter turns its SDK's response into one ``Completion`` and its SDK's exceptions into
Sluice's error tree, here and nowhere else. Status codes map the same way for every provider.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

from worker.domain.errors import Permanent, ProviderError, RateLimited, Retryable
from worker.domain.pricing import Usage
from worker.domain.tasks_spec import TaskRequest
from worker.providers.headers import RemainingReport

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})  #: worth a retry
MAX_RETRY_AFTER_S = 600.0  #: ignore a provider asking us to wait longer than this
MAX_ERROR_CHARS = 300  #: error messages are cut to this length before they are stored
_KEY_PATTERN = re.compile(r"(sk-[A-Za-z0-9_\-*]{6,}|Bearer\s+\S+)")


@dataclass(frozen=True, slots=True)
class Completion:
    """One successful provider answer, provider-neutral."""

    output: Any  #: the parsed structured output (a dict for classify), or None
    text: str | None  #: raw text when the model answered in text
    usage: Usage
    request_id: str | None
    status_code: int = 200
    #: what the provider's rate-limit headers said is left
    remaining: tuple[RemainingReport, ...] = ()


class Provider(Protocol):
    """A provider adapter: one per configured provider, reused across calls in a process."""

    name: str

    async def complete(self, request: TaskRequest, *, model: str) -> Completion: ...

    async def aclose(self) -> None: ...


async def parsed(raw: Any) -> Any:
    """The typed body of a ``with_raw_response`` call; anthropic's async parse() is a
    coroutine, openai's is not."""
    value = raw.parse()
    return await value if inspect.isawaitable(value) else value


def redact(message: str, secret: str | None = None) -> str:
    """Remove the key (and anything shaped like one) from a message, then shorten it."""
    if secret:
        message = message.replace(secret, "[redacted]")
    message = _KEY_PATTERN.sub("[redacted]", message)
    return message[:MAX_ERROR_CHARS]


def error_fields(body: object) -> dict[str, Any]:
    """The error object of a provider's error body: Anthropic nests it under "error", and the
    OpenAI SDK hands over the inner object already."""
    if not isinstance(body, dict):
        return {}
    inner = body.get("error")
    return inner if isinstance(inner, dict) else body


def retry_after_s(headers: Mapping[str, str] | None) -> float | None:
    """The wait a provider asked for, from retry-after-ms or retry-after (seconds)."""
    if not headers:
        return None
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            value = float(raw) / scale
        except ValueError:
            continue
        if 0 <= value <= MAX_RETRY_AFTER_S:
            return value
    return None


def status_error(
    *,
    status: int,
    message: str,
    headers: Mapping[str, str] | None,
    request_id: str | None,
    error_type: str | None = None,
) -> ProviderError:
    """Translate an HTTP error status into the tree: 429 → RateLimited, transient → Retryable."""
    code = error_type or f"http_{status}"
    wait = retry_after_s(headers)
    if status == 429:
        return RateLimited(
            message, code=code, status_code=status, request_id=request_id, retry_after_s=wait
        )
    if status in RETRYABLE_STATUS or status >= 500:
        return Retryable(
            message, code=code, status_code=status, request_id=request_id, retry_after_s=wait
        )
    return Permanent(message, code=code, status_code=status, request_id=request_id)


def missing_key_error(provider: str, env_var: str) -> Permanent:
    return Permanent(
        f"provider '{provider}' has no API key: set the environment variable {env_var}",
        code="missing_api_key",
    )


def translate_sdk_error(
    err: Exception, sdk: ModuleType, *, key: str, type_fields: tuple[str, ...]
) -> ProviderError:
    """Map an exception of the ``anthropic`` or ``openai`` SDK (they share one hierarchy) into
    the tree. A 200 with a malformed body surfaces as ValueError, which the SDKs do not retry."""
    if isinstance(err, sdk.APIStatusError):
        error = error_fields(err.body)
        error_type = next((str(error[f]) for f in type_fields if error.get(f)), None)
        return status_error(
            status=err.status_code,
            message=redact(str(error.get("message") or err.message), key),
            headers=err.response.headers,
            request_id=err.request_id,
            error_type=error_type,
        )
    if isinstance(err, sdk.APITimeoutError):
        return Retryable("the request timed out", code="timeout")
    if isinstance(err, sdk.APIConnectionError):
        return Retryable(redact(f"connection failed: {err}", key), code="connection_error")
    if isinstance(err, ValueError):
        return Retryable("the provider sent a malformed response body", code="malformed_response")
    return Retryable(redact(f"{type(err).__name__}: {err}", key), code="unexpected_error")
