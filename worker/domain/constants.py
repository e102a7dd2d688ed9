"""Names shared across processes: Celery queues and task names, Redis key prefixes.

Everything that two processes must spell the same way lives here, so a producer that
only imports ``worker.domain`` can still address the workers.
"""

DISPATCH_QUEUE = "sluice.dispatch"  #: queue of the dispatcher task
PROVIDER_QUEUE_PREFIX = "sluice.provider."  #: one queue per provider: prefix + provider name
DISPATCH_TASK = "sluice.dispatch"  #: wake-up after a submission: feed the provider queues
RUN_CHUNK_TASK = "sluice.run_chunk"  #: task that runs a chunk of job ids
SWEEP_TASK = "sluice.sweep"  #: periodic task (beat) that re-sends work nobody is doing

REDIS_KEY_PREFIX = "sluice:"  #: every Redis key Sluice writes (besides Celery's own) starts so
STOPPING_KEY_PREFIX = REDIS_KEY_PREFIX + "stopping:"  #: + worker hostname: its stop deadline
FEED_LOCK_KEY = REDIS_KEY_PREFIX + "feed:lock"  #: held by the one process feeding the queues
BUDGET_KEY_PREFIX = REDIS_KEY_PREFIX + "budget:"  #: budget ledgers and open reservations
BUDGET_EPOCH_KEY = REDIS_KEY_PREFIX + "budget-epoch"  #: gone = Redis lost the ledgers
BUDGET_EPOCH_STATE = "budget_epoch"  #: system_state row recording that an epoch ever began
RATE_KEY_PREFIX = REDIS_KEY_PREFIX + "rl:"  #: rate-limit windows, slots and pauses, per scope
QUEUES_MARK_KEY = REDIS_KEY_PREFIX + "queues-mark"  #: set by the sweeper; gone = Redis lost data


def provider_queue(provider: str) -> str:
    """The Celery queue that serves calls to ``provider``."""
    return f"{PROVIDER_QUEUE_PREFIX}{provider}"
