"""Budgets: which apply to a call, their periods, what Postgres says was spent, and setting them.

A budget comes from the config (``budgets:``), from ``sluice budgets set`` (the ``budgets``
table), or from a batch's own ``budget_usd``. Spend is the sum of the attempts' costs in the
budget's period: Postgres is the ledger; the Redis counters (worker/budget.py) are a fast copy.
Periods are UTC calendar days and months, or the whole history ("total").
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from worker.domain.config import AppConfig, BudgetPeriod, BudgetScope
from worker.domain.constants import BUDGET_EPOCH_STATE
from worker.domain.errors import InvalidInput, NotFound
from worker.domain.models import Attempt, Batch, Budget, SystemState

MAX_BUDGET_USD = Decimal(9_000_000)  #: the ledger counts nano-dollars in Redis, exact to 2^53


@dataclass(frozen=True, slots=True)
class CallScope:
    """What a provider call is charged to."""

    provider: str
    model: str
    task: str
    tenant: str | None
    batch_id: str


@dataclass(frozen=True, slots=True)
class BudgetRule:
    scope: BudgetScope
    key: str  #: the provider, model, task, tenant or batch id; "" for global
    period: BudgetPeriod
    limit_usd: Decimal
    source: str  #: "config", "set" (sluice budgets set) or "batch"

    @property
    def name(self) -> str:
        parts = (
            [self.scope.value, self.key, self.period.value]
            if self.key
            else [self.scope.value, self.period.value]
        )
        return ":".join(parts)

    def applies_to(self, call: CallScope) -> bool:
        target = {
            BudgetScope.global_: "",
            BudgetScope.provider: call.provider,
            BudgetScope.model: call.model,
            BudgetScope.task: call.task,
            BudgetScope.tenant: call.tenant or "",
            BudgetScope.batch: call.batch_id,
        }[self.scope]
        return self.key == target and (self.scope is not BudgetScope.tenant or bool(target))


@dataclass(frozen=True, slots=True)
class PeriodWindow:
    period_id: str  #: "2026-11-28", "2026-11" or "total"
    start: dt.datetime | None
    end: dt.datetime | None


def period_window(period: BudgetPeriod, now: dt.datetime) -> PeriodWindow:
    now = now.astimezone(dt.UTC)
    if period is BudgetPeriod.day:
        start = dt.datetime(now.year, now.month, now.day, tzinfo=dt.UTC)
        return PeriodWindow(start.date().isoformat(), start, start + dt.timedelta(days=1))
    if period is BudgetPeriod.month:
        start = dt.datetime(now.year, now.month, 1, tzinfo=dt.UTC)
        end = dt.datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=dt.UTC)
        return PeriodWindow(f"{now.year:04d}-{now.month:02d}", start, end)
    return PeriodWindow("total", None, None)


def rules_from_config(config: AppConfig) -> list[BudgetRule]:
    return [
        BudgetRule(b.scope, b.key or "", b.period, b.limit_usd, "config") for b in config.budgets
    ]


def rules_from_table(session: Session) -> list[BudgetRule]:
    rows = session.scalars(select(Budget).order_by(Budget.id)).all()
    return [
        BudgetRule(BudgetScope(r.scope), r.key, BudgetPeriod(r.period), r.limit_usd, "set")
        for r in rows
    ]


def batch_rule(batch_id: str, budget_usd: Decimal | None) -> BudgetRule | None:
    if budget_usd is None:
        return None
    return BudgetRule(BudgetScope.batch, batch_id, BudgetPeriod.total, budget_usd, "batch")


def spent_usd(session: Session, rule: BudgetRule, window: PeriodWindow) -> Decimal:
    """What the ledger (attempts) says was spent under ``rule`` in ``window``."""
    query = select(func.coalesce(func.sum(Attempt.cost_usd), 0))
    if rule.scope in (BudgetScope.task, BudgetScope.tenant):
        query = query.join(Batch, Batch.id == Attempt.batch_id)
    if rule.scope is BudgetScope.batch:
        query = query.where(Attempt.batch_id == uuid.UUID(rule.key))
    elif rule.scope is not BudgetScope.global_:
        column = {
            BudgetScope.provider: Attempt.provider,
            BudgetScope.model: Attempt.model,
            BudgetScope.task: Batch.task,
            BudgetScope.tenant: Batch.tenant,
        }[rule.scope]
        query = query.where(column == rule.key)
    if window.start is not None:
        query = query.where(Attempt.started_at >= window.start)
    if window.end is not None:
        query = query.where(Attempt.started_at < window.end)
    return Decimal(session.execute(query).scalar_one())


def set_budget(
    session: Session,
    *,
    scope: str,
    key: str | None,
    period: str,
    limit_usd: Decimal,
    config: AppConfig,
) -> BudgetRule:
    """Create or change a budget; takes effect at the workers' next reservation. A provider,
    model or task key the config does not declare is refused: it would never apply."""
    try:
        parsed_scope, parsed_period = BudgetScope(scope), BudgetPeriod(period)
    except ValueError:
        raise InvalidInput(
            f"scope must be one of {', '.join(s.value for s in BudgetScope)} and period one of "
            f"{', '.join(p.value for p in BudgetPeriod)}"
        ) from None
    if parsed_scope is BudgetScope.global_ and key:
        raise InvalidInput("a global budget takes no --key")
    if parsed_scope is not BudgetScope.global_ and not key:
        raise InvalidInput(f"a {parsed_scope.value} budget needs --key")
    if key:
        _check_key(config, parsed_scope, key)
    if not (limit_usd.is_finite() and 0 < limit_usd <= MAX_BUDGET_USD):
        raise InvalidInput(f"the limit must be above 0 and at most {MAX_BUDGET_USD:,} USD")
    if parsed_scope is BudgetScope.batch:
        changed = session.execute(
            text("UPDATE batches SET budget_usd = :limit WHERE id::text = :key"),
            {"limit": limit_usd, "key": key},
        )
        if changed.rowcount == 0:  # type: ignore[attr-defined]
            raise NotFound(f"no batch with id {key}")
        return BudgetRule(parsed_scope, key or "", BudgetPeriod.total, limit_usd, "batch")
    statement = insert(Budget).values(
        scope=parsed_scope.value, key=key or "", period=parsed_period.value, limit_usd=limit_usd
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["scope", "key", "period"],
            set_={"limit_usd": limit_usd, "updated_at": func.now()},
        )
    )
    return BudgetRule(parsed_scope, key or "", parsed_period, limit_usd, "set")


def _check_key(config: AppConfig, scope: BudgetScope, key: str) -> None:
    declared: dict[BudgetScope, set[str]] = {
        BudgetScope.provider: set(config.providers),
        BudgetScope.model: set(config.models),
        BudgetScope.task: set(config.tasks),
    }
    known = declared.get(scope)
    if known is not None and key not in known:
        raise InvalidInput(
            f"no {scope.value} '{key}' in the config (known: {', '.join(sorted(known))})"
        )


def record_epoch(session: Session) -> bool:
    """Note that the Redis ledger has been started; True if this is the first time ever, when
    no call can be in flight and so no recovery wait is needed."""
    inserted = session.execute(
        insert(SystemState)
        .values(name=BUDGET_EPOCH_STATE, value=dt.datetime.now(dt.UTC).isoformat())
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(SystemState.name)
    ).first()
    return inserted is not None


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    rule: BudgetRule
    window: PeriodWindow
    spent_usd: Decimal
    waiting_jobs: int

    @property
    def remaining_usd(self) -> Decimal:
        return self.rule.limit_usd - self.spent_usd


def list_budgets(session: Session, config: AppConfig, now: dt.datetime) -> list[BudgetStatus]:
    """Every budget with its spend this period (from the ledger) and the jobs waiting on it."""
    rules = [*rules_from_config(config), *rules_from_table(session)]
    rows = session.execute(
        select(Batch.id, Batch.budget_usd).where(
            Batch.budget_usd.is_not(None), Batch.completed_at.is_(None)
        )
    ).all()
    rules += [r for batch_id, limit in rows if (r := batch_rule(str(batch_id), limit))]
    waiting: dict[str, int] = dict(
        session.execute(
            text(
                "SELECT waiting_on, count(*) FROM jobs WHERE state = 'waiting_budget' "
                "GROUP BY waiting_on"
            )
        ).all()
    )
    statuses = []
    for rule in rules:
        window = period_window(rule.period, now)
        waiting_name = f"{rule.name}:{window.period_id}"
        statuses.append(
            BudgetStatus(
                rule, window, spent_usd(session, rule, window), waiting.get(waiting_name, 0)
            )
        )
    return statuses
