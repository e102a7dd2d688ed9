"""Rate limits that follow the config file while workers run.

An operator who raises or lowers a provider's limits edits the YAML file; running workers
notice within ``CHECK_EVERY_S`` and use the new limits at their next call. The usage already
counted in Redis is keyed by scope, not by limit, so nothing is lost. Only the limits are
taken from the new file: everything else a worker holds (providers, routes, prices) changes
with a restart. A file that no longer parses keeps the last good limits, with a warning.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from worker.domain.config import AppConfig, load_config_file
from worker.domain.errors import ConfigError
from worker.domain.log import log_event
from worker.ratelimit import LimitScope, scopes_for

logger = logging.getLogger("sluice.config")

CHECK_EVERY_S = 5.0  #: how often the config file's modification time is looked at


class LimitsWatch:
    def __init__(
        self,
        config: AppConfig,
        path: Path | None,
        *,
        check_every_s: float = CHECK_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._initial = config  #: what this worker was built from: it knows every model it calls
        self._config = config  #: the newest good config read from the file
        self._path = path
        self._check_every_s = check_every_s
        self._clock = clock
        self._stamp = self._modified()
        self._next_check = clock() + check_every_s

    def scopes(self, model_name: str) -> tuple[LimitScope, ...]:
        """The model's limit scopes under the newest good config that still declares it."""
        config = self._current()
        return scopes_for(config if model_name in config.models else self._initial, model_name)

    def _modified(self) -> int | None:
        if self._path is None:
            return None
        try:
            return self._path.stat().st_mtime_ns
        except OSError:
            return None

    def _current(self) -> AppConfig:
        now = self._clock()
        if self._path is None or now < self._next_check:
            return self._config
        self._next_check = now + self._check_every_s
        stamp = self._modified()
        if stamp is None or stamp == self._stamp:
            return self._config
        self._stamp = stamp
        try:
            self._config = load_config_file(self._path)
        except ConfigError as err:
            log_event(logger, "config_reload_refused", level=logging.WARNING, error=err.message)
            return self._config
        log_event(logger, "rate_limits_reloaded", path=self._path)
        return self._config
