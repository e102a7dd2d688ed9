"""Batch-completion webhooks: signed, retried with backoff after a failure, every try recorded."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from sqlalchemy import text

from tests.e2e.conftest import Pipeline, wait_for_batch
from worker.domain.db import session_scope

SECRET = "whsec-test-0123456789"  # a test value, not a real secret


class Receiver:
    """An HTTP endpoint that answers 500 first, then 200, and keeps what it got."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(500 if len(receiver.received) == 1 else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/sluice"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.server.shutdown()


def test_a_finished_batch_is_posted_signed_and_retried_after_a_failure(
    fresh_sim: Pipeline, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.dispatch import enqueue_dispatch
    from worker import tasks, webhooks
    from worker.domain.batches import SubmitRequest, submit_batch
    from worker.domain.config import load_config
    from worker.domain.ingest import Item

    monkeypatch.setenv("SLUICE_WEBHOOK_SECRET", SECRET)
    monkeypatch.setattr(webhooks, "FIRST_RETRY_S", 0.5)
    items = [Item(line=i + 1, item_id=f"w-{i}", text=f"hi {i} [[label:other]]") for i in range(5)]
    with session_scope() as session:
        batch = submit_batch(
            session,
            load_config(),
            SubmitRequest(
                "classify", items, labels=["billing", "other"], callback_url=receiver.url
            ),
        )
    enqueue_dispatch(batch.id)
    assert wait_for_batch(batch.id) == {"succeeded": 5}

    deadline = time.monotonic() + 20
    while len(receiver.received) < 2 and time.monotonic() < deadline:
        tasks.sweep.run()  # what beat does every few seconds
        time.sleep(0.3)

    assert len(receiver.received) == 2  # the first try got a 500, the retry a 200
    headers, body = receiver.received[1]
    expected = hmac.new(
        SECRET.encode(), headers["X-Sluice-Timestamp"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert headers["X-Sluice-Signature"] == f"sha256={expected}"
    sent = json.loads(body)
    assert sent["batch"]["id"] == str(batch.id)
    assert sent["batch"]["counts"] == {"succeeded": 5}
    assert sent["batch"]["status"] == "completed"
    assert sent["results_url"].endswith(f"/v1/batches/{batch.id}/results")
    with session_scope() as session:
        tries = session.execute(
            text("SELECT attempt, status_code, error FROM webhook_deliveries ORDER BY attempt")
        ).all()
        state = session.execute(text("SELECT webhook_status FROM batches")).scalar_one()
    assert [tuple(t) for t in tries] == [(1, 500, "HTTP 500"), (2, 200, None)]
    assert state == "delivered"
    assert tasks.sweep.run() == 0 and len(receiver.received) == 2  # delivered once, not again


def test_a_callback_url_without_a_signing_secret_is_refused(
    fresh_sim: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from worker.domain.batches import SubmitRequest, submit_batch
    from worker.domain.config import load_config
    from worker.domain.errors import InvalidInput
    from worker.domain.ingest import Item

    monkeypatch.delenv("SLUICE_WEBHOOK_SECRET", raising=False)
    request = SubmitRequest(
        "classify",
        [Item(line=1, item_id="a", text="t")],
        labels=["x"],
        callback_url="https://example.invalid/hook",
    )

    with session_scope() as session, pytest.raises(InvalidInput, match="SLUICE_WEBHOOK_SECRET"):
        submit_batch(session, load_config(), request)
