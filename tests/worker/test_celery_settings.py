"""The Celery delivery settings the nothing-lost design relies on (worker/celery_app.py).

``worker.celery_app`` builds its app, broker URL included, when first imported; so it is
imported inside the tests, after the session's Redis is in the environment, never at
collection time (that would point every later in-process send at the wrong Redis)."""

from __future__ import annotations

import yaml

from worker.domain.config import default_config_text, parse_config


def test_the_app_acks_late_prefetches_one_and_requeues_lost_work(redis_url: str) -> None:
    from worker.celery_app import app

    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_cancel_long_running_tasks_on_connection_loss is True
    lease_s = parse_config(yaml.safe_load(default_config_text())).worker.lease_s
    assert conf.broker_transport_options["visibility_timeout"] >= 4 * lease_s


def test_the_visibility_timeout_stays_above_a_long_lease(redis_url: str) -> None:
    from worker.celery_app import MIN_VISIBILITY_TIMEOUT_S, visibility_timeout_s

    data = yaml.safe_load(default_config_text())
    data["worker"]["lease_s"] = 1800
    assert visibility_timeout_s(parse_config(data).worker) == 4 * 1800
    data["worker"]["lease_s"] = 60
    assert visibility_timeout_s(parse_config(data).worker) == MIN_VISIBILITY_TIMEOUT_S
