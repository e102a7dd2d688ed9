"""The first cut of the HTTP API: submission, status, cancel and streamed results, through the
same service functions as the CLI (no worker runs here, so jobs stay pending)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import app
from tests.conftest import fast_config, write_config

client = TestClient(app)
ITEMS = [{"id": "a", "text": "refund please"}, {"id": "b", "text": "app crashes £5"}]


def test_post_batch_stores_it_and_get_reads_its_counts(
    db: str, redis_url: str, config_path: Path
) -> None:
    created = client.post(
        "/v1/batches", json={"task": "classify", "labels": ["billing", "tech"], "items": ITEMS}
    )

    assert created.status_code == 202
    body = created.json()
    assert body["counts"] == {"pending": 2}
    read = client.get(f"/v1/batches/{body['id']}")
    assert read.status_code == 200
    assert read.json()["item_count"] == 2
    assert client.get("/v1/healthz").json() == {"status": "ok"}


def test_bad_items_and_unknown_batches_get_clear_errors(
    db: str, redis_url: str, config_path: Path
) -> None:
    bad = client.post(
        "/v1/batches",
        json={
            "task": "classify",
            "labels": ["x"],
            "items": [{"id": "a"}, {"id": "b", "text": "t"}],
        },
    )
    assert bad.status_code == 422
    assert bad.json()["error"] == {
        "code": "invalid_input",
        "message": "line 1, field 'text': is missing",
    }
    missing = client.get("/v1/batches/8d1f8a36-1f42-4c3a-9a49-0d3c3f1e0000")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_cancel_then_stream_results_as_csv_and_jsonl(
    db: str, redis_url: str, config_path: Path
) -> None:
    batch_id = client.post(
        "/v1/batches", json={"task": "classify", "labels": ["billing"], "items": ITEMS}
    ).json()["id"]

    canceled = client.post(f"/v1/batches/{batch_id}/cancel")

    assert canceled.json()["counts"] == {"canceled": 2}
    assert canceled.json()["status"] == "canceled"
    csv_body = client.get(f"/v1/batches/{batch_id}/results?format=csv").text.splitlines()
    assert csv_body[0].startswith("item_id,status,label,model")
    assert [line.split(",")[:2] for line in csv_body[1:]] == [["a", "canceled"], ["b", "canceled"]]
    jsonl = client.get(f"/v1/batches/{batch_id}/results").text.splitlines()
    assert len(jsonl) == 2 and '"error_code": "canceled"' in jsonl[0]


def test_a_request_body_over_the_limit_is_refused_with_413(
    db: str, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = fast_config(max_request_mb=0.001)  # about 1 KB
    monkeypatch.setenv("SLUICE_CONFIG", str(write_config(tmp_path / "small.yaml", data)))
    items = [{"id": str(i), "text": "x" * 100} for i in range(50)]

    refused = client.post("/v1/batches", json={"task": "classify", "labels": ["a"], "items": items})

    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "request_too_large"
    assert client.get("/v1/batches/8d1f8a36-1f42-4c3a-9a49-0d3c3f1e0000").status_code == 404


def test_more_items_than_the_batch_limit_are_refused(
    db: str, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = fast_config(max_items_per_batch=3)
    monkeypatch.setenv("SLUICE_CONFIG", str(write_config(tmp_path / "few.yaml", data)))
    items = [{"id": str(i), "text": "t"} for i in range(4)]

    refused = client.post("/v1/batches", json={"task": "classify", "labels": ["a"], "items": items})

    assert refused.status_code == 422
    assert "the limit is 3" in refused.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"task": "classify", "items": [', "the request body is not valid JSON"),
        (b'{"task": "classify", "labels": ["\xff"], "items": []}', "not UTF-8 text"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"task": "classify", "items": "nope"}', "field 'items': "),
        (b'{"items": [{"id": "a", "text": "t"}]}', "field 'task': field required"),
    ],
    ids=["malformed", "not-utf8", "nested-100k-deep", "items-not-a-list", "task-missing"],
)
def test_a_body_that_cannot_be_read_gets_the_error_shape_not_a_crash(
    db: str, redis_url: str, config_path: Path, body: bytes, message: str
) -> None:
    refused = client.post("/v1/batches", content=body, headers={"content-type": "application/json"})

    assert refused.status_code in (400, 422), refused.text
    error = refused.json()["error"]
    assert error["code"] == "invalid_input"
    assert message in error["message"]
