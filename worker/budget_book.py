"""Which budgets apply to a call: the config's, those set with `sluice budgets set` (re-read
every few seconds, so a raised limit takes effect without a restart), and the batch's own."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from decimal import Decimal

from sqlalchemy.exc import SQLAlchemyError

from worker.budget import BudgetInstance
from worker.domain.budgets import (
    BudgetRule,
    CallScope,
    batch_rule,
    period_window,
    record_epoch,
    rules_from_config,
    rules_from_table,
    spent_usd,
)
from worker.domain.config import AppConfig
from worker.domain.db import session_scope
from worker.domain.log import log_event

logger = logging.getLogger("sluice.budget")

BUDGET_REFRESH_S = 5.0  #: how stale the budgets table may be in a worker's memory


class BudgetBook:
    def __init__(self, config: AppConfig, *, refresh_s: float = BUDGET_REFRESH_S) -> None:
        self._config_rules = rules_from_config(config)
        self._table_rules: list[BudgetRule] = []
        self._refresh_s = refresh_s
        self._loaded_at: float | None = None

    async def instances_for(
        self, call: CallScope, batch_budget_usd: Decimal | None, now: dt.datetime
    ) -> list[BudgetInstance]:
        await self._refresh()
        rules = [r for r in (*self._config_rules, *self._table_rules) if r.applies_to(call)]
        own = batch_rule(call.batch_id, batch_budget_usd)
        if own is not None:
            rules.append(own)
        return [BudgetInstance(rule, period_window(rule.period, now)) for rule in rules]

    async def _refresh(self) -> None:
        if self._loaded_at is not None and time.monotonic() - self._loaded_at < self._refresh_s:
            return
        try:
            self._table_rules = await asyncio.to_thread(_read_table)
        except SQLAlchemyError as err:  # keep the last rules; the ledger still holds spend
            log_event(logger, "budgets_refresh_failed", level=logging.WARNING, error=err)
            if self._loaded_at is None:
                raise
        self._loaded_at = time.monotonic()


def _read_table() -> list[BudgetRule]:
    with session_scope() as session:
        return rules_from_table(session)


def load_spent(instance: BudgetInstance) -> Decimal:
    """The ledger's sum for one budget in one period (blocking; run in a thread)."""
    with session_scope() as session:
        return spent_usd(session, instance.rule, instance.window)


def start_epoch() -> bool:
    """Record in Postgres that a ledger epoch began; True when none ever had."""
    with session_scope() as session:
        return record_epoch(session)
