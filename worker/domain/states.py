"""Job and batch states, shared by the database, the workers and every reader."""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    pending = "pending"  #: stored, not yet routed to a provider queue
    queued = "queued"  #: routed; a Celery message names it
    running = "running"  #: claimed by a worker under a lease
    waiting_budget = "waiting_budget"  #: cannot reserve its cost yet; resumes when budget allows
    succeeded = "succeeded"  #: has a valid output and its cost is recorded
    failed = "failed"  #: gave up, with error_code and error_message
    canceled = "canceled"  #: its batch was canceled before it ran


TERMINAL_JOB_STATES = frozenset({JobState.succeeded, JobState.failed, JobState.canceled})
ACTIVE_JOB_STATES = frozenset(set(JobState) - TERMINAL_JOB_STATES)


class BatchStatus(StrEnum):
    pending = "pending"  #: submitted, no job has started
    running = "running"  #: at least one job was dispatched
    completed = "completed"  #: every job is terminal
    canceled = "canceled"  #: canceled by a user; running jobs may still finish
