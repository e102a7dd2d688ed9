"""The simulator's settings: one frozen `SimConfig`, validated on construction.

The live server swaps in a new `SimConfig` (built by `merge_config`) when `POST /_sim/config`
arrives, so every request reads one consistent snapshot. The `sluice simulator` CLI and
`python -m simulator` both build a `SimConfig` and hand it to `serve()`; the field names are a
contract with them and with `simulator.testing`, which turns a config back into CLI flags.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

#: Fields holding a probability in [0, 1]; together they must not exceed 1.
FAULT_RATE_FIELDS = ("error_500_rate", "overloaded_rate", "timeout_rate", "malformed_rate")
#: Fields holding an optional positive limit; None means unlimited.
LIMIT_FIELDS = ("rpm", "input_tpm", "output_tpm", "tpm", "max_concurrency")
#: Fields holding a non-negative duration.
DURATION_FIELDS = ("latency_ms", "jitter_ms", "timeout_hang_s")
#: Fields that `POST /_sim/config` may not change on a running server.
FROZEN_FIELDS = ("log_path",)

DEFAULT_TIMEOUT_HANG_S = 30.0  #: s a "timeout" fault holds a request, longer than most timeouts


@dataclass(frozen=True)
class SimConfig:
    """How the simulator answers: its seed, injected latency and faults, and per-key limits."""

    seed: int = 0  #: seeds the fault and latency generators
    latency_ms: float = 0.0  #: added before every answer
    jitter_ms: float = 0.0  #: latency varies uniformly by up to this much either way
    error_500_rate: float = 0.0  #: probability of a 500 api_error / server_error
    overloaded_rate: float = 0.0  #: probability of a 529 (Anthropic) or 503 (OpenAI)
    timeout_rate: float = 0.0  #: probability of holding the request for timeout_hang_s
    timeout_hang_s: float = DEFAULT_TIMEOUT_HANG_S  #: how long a "timeout" fault holds
    malformed_rate: float = 0.0  #: probability of a 200 with a truncated JSON body
    rpm: int | None = None  #: requests per minute per key and API
    input_tpm: int | None = None  #: input tokens per minute per key and API
    output_tpm: int | None = None  #: output tokens per minute per key and API
    tpm: int | None = None  #: input plus output tokens per minute per key and API
    max_concurrency: int | None = None  #: requests in flight per key and API
    log_path: str | Path | None = None  #: append each request record here as a JSON line

    def __post_init__(self) -> None:
        _check_int("seed", self.seed)
        for name in DURATION_FIELDS:
            value = getattr(self, name)
            _check_number(name, value)
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        for name in FAULT_RATE_FIELDS:
            value = getattr(self, name)
            _check_number(name, value)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        total_rate = sum(getattr(self, name) for name in FAULT_RATE_FIELDS)
        if total_rate > 1.0 + 1e-9:
            raise ValueError(f"fault rates add up to {total_rate}, more than 1")
        for name in LIMIT_FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            _check_int(name, value)
            if value <= 0:
                raise ValueError(f"{name} must be a positive integer or None, got {value}")

    @property
    def has_limits(self) -> bool:
        """Whether any rate or concurrency limit is set."""
        return any(getattr(self, name) is not None for name in LIMIT_FIELDS)

    @property
    def has_faults(self) -> bool:
        """Whether any fault has a non-zero probability."""
        return any(getattr(self, name) > 0 for name in FAULT_RATE_FIELDS)

    def to_dict(self) -> dict[str, Any]:
        """The config as plain JSON-ready values."""
        data = dataclasses.asdict(self)
        if data["log_path"] is not None:
            data["log_path"] = str(data["log_path"])
        return data

    def to_cli_args(self) -> list[str]:
        """The `python -m simulator` flags that rebuild this config (defaults omitted)."""
        args: list[str] = []
        for field in fields(self):
            value = getattr(self, field.name)
            if value is None or value == field.default:
                continue
            args += [f"--{field.name.replace('_', '-')}", str(value)]
        return args


def merge_config(config: SimConfig, changes: Mapping[str, Any]) -> SimConfig:
    """Return `config` with `changes` applied; raise ValueError on an unknown or bad field."""
    known = {field.name for field in fields(SimConfig)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise ValueError(f"unknown config field(s): {', '.join(unknown)}")
    for name in FROZEN_FIELDS:
        if name in changes and changes[name] != getattr(config, name):
            raise ValueError(f"{name} cannot be changed on a running simulator")
    return dataclasses.replace(config, **dict(changes))


def _check_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")


def _check_number(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
