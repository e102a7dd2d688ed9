"""Sluice's one error tree.

Provider adapters translate SDK exceptions into this tree once, where the request is
sent; nothing above them imports ``anthropic`` or ``openai``. The CLI and API turn any
``SluiceError`` into a one-sentence message.
"""

from __future__ import annotations

from decimal import Decimal


class SluiceError(Exception):
    """Root of every error Sluice raises on purpose."""

    #: short machine-readable code stored on failed jobs and returned by the API
    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code


class ConfigError(SluiceError):
    """The YAML config or the environment is invalid."""

    code = "config_error"


class InvalidInput(SluiceError):
    """A submitted item or request is malformed; nothing was stored."""

    code = "invalid_input"


class NotFound(SluiceError):
    """A batch or other object does not exist."""

    code = "not_found"


class ServiceUnavailable(SluiceError):
    """Postgres or Redis cannot be reached."""

    code = "service_unavailable"


class BudgetExhausted(SluiceError):
    """A call cannot reserve its worst-case cost under every budget that applies."""

    code = "budget_exhausted"
    budget: str = ""  #: the budget (and period) that is short, e.g. "batch:<id>:total:total"
    need_usd: Decimal = Decimal(0)  #: the reservation that did not fit


class ProviderError(SluiceError):
    """A provider call did not produce a usable answer."""

    code = "provider_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.status_code = status_code
        self.request_id = request_id


class Retryable(ProviderError):
    """Worth trying again, after ``retry_after_s`` when the provider said so."""

    code = "provider_retryable"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message, code=code, status_code=status_code, request_id=request_id)
        self.retry_after_s = retry_after_s


class RateLimited(Retryable):
    """The provider answered 429; the whole provider should pause for ``retry_after_s``."""

    code = "rate_limited"


class Permanent(ProviderError):
    """Trying the same call again cannot help (bad request, auth, unknown model)."""

    code = "provider_permanent"
