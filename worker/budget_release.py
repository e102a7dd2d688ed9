"""Sending `waiting_budget` jobs back to work when their budget has room again.

A job waits on one budget in one period (``jobs.waiting_on``) for a reservation it could not
make (``jobs.budget_need_usd``). The sweeper releases, oldest first, as many as the budget's
room now covers; a new period, a raised limit or a removed budget releases them all. Jobs that
still do not fit simply wait again, so nothing spins.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import redis
from sqlalchemy import text
from sqlalchemy.orm import Session

from worker.budget import NANO_PER_USD, BudgetInstance
from worker.domain.budgets import (
    BudgetRule,
    batch_rule,
    period_window,
    rules_from_config,
    rules_from_table,
    spent_usd,
)
from worker.domain.config import AppConfig
from worker.domain.db import session_scope
from worker.domain.log import log_event

logger = logging.getLogger("sluice.budget")

_WAITING = text(
    """
    SELECT waiting_on, array_agg(id ORDER BY id) AS ids,
           array_agg(coalesce(budget_need_usd, 0) ORDER BY id) AS needs
      FROM jobs WHERE state = 'waiting_budget' GROUP BY waiting_on
    """
)
_BATCH_BUDGETS = text(
    """
    SELECT DISTINCT b.id, b.budget_usd FROM batches b JOIN jobs j ON j.batch_id = b.id
     WHERE j.state = 'waiting_budget' AND b.budget_usd IS NOT NULL
    """
)
_RELEASE = text(
    """
    UPDATE jobs SET state = 'pending', waiting_on = NULL, budget_need_usd = NULL,
                    error_code = NULL, error_message = NULL
     WHERE id = ANY(:ids) AND state = 'waiting_budget'
    """
)


def _current_instances(
    session: Session, config: AppConfig, now: dt.datetime
) -> dict[str, BudgetInstance]:
    rules: list[BudgetRule] = [*rules_from_config(config), *rules_from_table(session)]
    for batch_id, budget_usd in session.execute(_BATCH_BUDGETS).all():
        rule = batch_rule(str(batch_id), budget_usd)
        if rule is not None:
            rules.append(rule)
    instances = (BudgetInstance(rule, period_window(rule.period, now)) for rule in rules)
    return {instance.name: instance for instance in instances}


def _room_usd(session: Session, client: redis.Redis, instance: BudgetInstance) -> Decimal:
    """Limit minus what is spent and reserved now (the Redis ledger, or Postgres without it)."""
    spent_raw, reserved_raw = client.hmget(instance.ledger_key, ["spent", "reserved"])
    if spent_raw is None:
        used = spent_usd(session, instance.rule, instance.window)
    else:
        used = (Decimal(int(spent_raw)) + Decimal(int(reserved_raw or 0))) / NANO_PER_USD
    return instance.rule.limit_usd - used


def release_waiting(config: AppConfig, client: redis.Redis, now: dt.datetime) -> int:
    """Move waiting jobs back to pending where their budget can now cover them."""
    released: list[int] = []
    with session_scope() as session:
        current = _current_instances(session, config, now)
        for waiting_on, ids, needs in session.execute(_WAITING).all():
            instance = current.get(waiting_on)
            if instance is None:  # a new period began, or the budget was removed
                released += ids
                continue
            room = _room_usd(session, client, instance)
            for job_id, need in zip(ids, needs, strict=True):
                if need > room:
                    break
                released.append(job_id)
                room -= need
        if released:
            session.execute(_RELEASE, {"ids": released})
    if released:
        log_event(logger, "budget_waiters_released", jobs=len(released))
    return len(released)
