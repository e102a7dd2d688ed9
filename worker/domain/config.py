"""The YAML config: providers, models with prices, tasks with routes, budgets, worker tuning.

It is validated once at start by pydantic; a bad key is refused with its dotted path.
``load_config()`` reads ``SLUICE_CONFIG`` or falls back to the bundled ``default_config.yaml``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from worker.domain.errors import ConfigError
from worker.domain.settings import get_settings

DEFAULT_CONFIG_RESOURCE = "default_config.yaml"  #: bundled config used when SLUICE_CONFIG is unset


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProviderKind(StrEnum):
    anthropic = "anthropic"  #: Anthropic Messages API
    openai = "openai"  #: OpenAI Chat Completions API
    openai_compatible = "openai_compatible"  #: vLLM, Ollama, LM Studio... through the OpenAI SDK


class Limits(_Strict):
    """A provider's (or model's) rate limits; None means not limited."""

    rpm: int | None = Field(default=None, gt=0)
    input_tpm: int | None = Field(default=None, gt=0)
    output_tpm: int | None = Field(default=None, gt=0)
    tpm: int | None = Field(default=None, gt=0)
    max_concurrency: int | None = Field(default=None, gt=0)


class ProviderConfig(_Strict):
    kind: ProviderKind
    #: None = the SDK default, which honours ANTHROPIC_BASE_URL / OPENAI_BASE_URL
    base_url: str | None = None
    #: name of the environment variable holding the key (the key itself is never in config)
    api_key_env: str
    timeout_s: float = Field(default=60.0, gt=0)
    limits: Limits = Limits()

    @model_validator(mode="after")
    def _compatible_needs_url(self) -> ProviderConfig:
        if self.kind is ProviderKind.openai_compatible and not self.base_url:
            raise ValueError("an openai_compatible provider needs a base_url")
        return self


MAX_PRICE_DECIMALS = 6  #: a per-million price with more places would not cost exactly at 12


def _exact_price(value: Decimal | None) -> Decimal | None:
    if value is not None and -value.as_tuple().exponent > MAX_PRICE_DECIMALS:  # type: ignore[operator]
        raise ValueError(f"a price may have at most {MAX_PRICE_DECIMALS} decimal places")
    return value


class ModelConfig(_Strict):
    provider: str
    #: the provider's own model name, when it differs from the key used in routes
    api_model: str | None = None
    input_per_mtok: Decimal = Field(ge=0)  #: USD per million uncached input tokens
    output_per_mtok: Decimal = Field(ge=0)  #: USD per million output tokens
    cached_input_per_mtok: Decimal | None = Field(default=None, ge=0)  #: cache reads
    cache_write_per_mtok: Decimal | None = Field(default=None, ge=0)  #: cache writes
    batch_discount: Decimal = Field(default=Decimal("0"), ge=0, lt=1)  #: share off in batch mode
    effective_date: dt.date | None = None  #: the day these prices took effect
    context_window: int = Field(gt=0)
    max_output_tokens: int = Field(gt=0)
    limits: Limits | None = None

    _prices_exact = field_validator(
        "input_per_mtok", "output_per_mtok", "cached_input_per_mtok", "cache_write_per_mtok"
    )(_exact_price)


class TaskKind(StrEnum):
    classify = "classify"  #: pick one label from a set


class TaskConfig(_Strict):
    kind: TaskKind = TaskKind.classify
    system: str = ""
    #: str.format template; classify gets {text} and {labels}
    prompt: str
    max_tokens: int = Field(gt=0)
    route: list[str] = Field(min_length=1)  #: models in order: primary first, then fallbacks
    labels: list[str] | None = None  #: default label set when a batch gives none

    @field_validator("prompt")
    @classmethod
    def _prompt_renders(cls, value: str) -> str:
        if "{text}" not in value:
            raise ValueError("the prompt template must contain {text}")
        try:
            value.format(text="", labels="")
        except (KeyError, IndexError, ValueError) as err:
            raise ValueError(
                f"the prompt template does not render ({type(err).__name__}: {err}); "
                "only {text} and {labels} may appear in braces, write {{ and }} for literal ones"
            ) from None
        return value


class BudgetScope(StrEnum):
    global_ = "global"
    provider = "provider"
    model = "model"
    task = "task"
    batch = "batch"
    tenant = "tenant"


class BudgetPeriod(StrEnum):
    day = "day"
    month = "month"
    total = "total"


class BudgetConfig(_Strict):
    scope: BudgetScope
    key: str | None = None  #: which provider/model/task/tenant; None for global
    period: BudgetPeriod = BudgetPeriod.total
    limit_usd: Decimal = Field(gt=0, le=9_000_000)  #: the Redis ledger is exact up to here


class WorkerConfig(_Strict):
    chunk_size: int = Field(default=50, gt=0, le=10_000)  #: job ids per Celery message
    #: chunks kept waiting in each provider queue; the rest wait in Postgres, so batches share
    queue_depth_chunks: int = Field(default=16, gt=0, le=10_000)
    max_inflight_per_process: int = Field(default=64, gt=0)  #: concurrent calls per worker process
    attempts_per_model: int = Field(default=4, gt=0, le=20)  #: failed calls before fallback
    #: how long 429s alone may keep a call retrying one model before it falls back
    rate_limited_retry_s: float = Field(default=600.0, gt=0)
    invalid_output_retries: int = Field(default=1, ge=0, le=5)  #: re-asks after a bad answer
    backoff_initial_s: float = Field(default=0.5, gt=0)
    backoff_max_s: float = Field(default=30.0, gt=0)
    #: how long a claimed job belongs to its worker without a heartbeat (renewed 3x per lease)
    lease_s: int = Field(default=60, ge=3)
    #: a queued job whose message has not been taken this long is sent again (Redis lost it)
    requeue_queued_after_s: int = Field(default=600, gt=0)
    result_flush_s: float = Field(default=0.5, gt=0)  #: longest wait before results are written
    #: on SIGTERM, calls in flight may finish for this long before their jobs are handed back
    shutdown_grace_s: float = Field(default=20.0, ge=0)
    sweep_interval_s: float = Field(default=10.0, gt=0)  #: how often beat runs the sweeper
    max_item_chars: int = Field(default=100_000, gt=0)  #: longest text accepted per item
    max_items_per_batch: int = Field(default=10_000_000, gt=0)  #: items accepted in one batch
    max_request_mb: float = Field(default=100.0, gt=0)  #: largest HTTP request body accepted


class AppConfig(_Strict):
    providers: dict[str, ProviderConfig]
    models: dict[str, ModelConfig]
    tasks: dict[str, TaskConfig]
    budgets: list[BudgetConfig] = []
    worker: WorkerConfig = WorkerConfig()

    @model_validator(mode="after")
    def _references_resolve(self) -> AppConfig:
        for name, model in self.models.items():
            if model.provider not in self.providers:
                raise ConfigError(
                    f"at models.{name}.provider: unknown provider "
                    f"'{model.provider}' (known: {', '.join(sorted(self.providers))})"
                )
        for name, task in self.tasks.items():
            for i, model_name in enumerate(task.route):
                if model_name not in self.models:
                    raise ConfigError(f"at tasks.{name}.route[{i}]: unknown model '{model_name}'")
        return self

    def provider_of(self, model: str) -> str:
        return self.models[model].provider


def _location(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_config(data: Any, *, source: str = "config") -> AppConfig:
    """Validate a parsed YAML document, turning pydantic errors into one ConfigError."""
    if not isinstance(data, dict):
        raise ConfigError(f"config error in {source}: the top level must be a mapping")
    try:
        return AppConfig.model_validate(data)
    except ConfigError as err:  # a cross-reference check: it names its own location
        raise ConfigError(f"config error in {source} {err.message}") from None
    except ValidationError as err:
        first = err.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        where = _location(tuple(first["loc"])) or "top level"
        more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
        raise ConfigError(f"config error in {source} at {where}: {message}{more}") from None


def load_config_file(path: Path) -> AppConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {err}") from None
    return parse_config(data, source=str(path))


def default_config_text() -> str:
    return resources.files("worker.domain").joinpath(DEFAULT_CONFIG_RESOURCE).read_text("utf-8")


@lru_cache(maxsize=8)
def _load_cached(path: Path | None) -> AppConfig:
    if path is None:
        return parse_config(yaml.safe_load(default_config_text()), source="default config")
    return load_config_file(path)


def load_config() -> AppConfig:
    """The config named by SLUICE_CONFIG, or the built-in default."""
    return _load_cached(get_settings().config)
