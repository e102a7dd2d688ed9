"""Submission throughput: `submit_batch` (one transaction, jobs through COPY) against a reference
that inserts the same rows with one INSERT per item, in the same process and database.

    SLUICE_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/sluice_bench \\
        python bench/ingest.py --items 100000

The database must exist and be migrated (`sluice migrate`); the script deletes its own batches.
"""

from __future__ import annotations

import argparse
import time
import uuid

from sqlalchemy import text

from worker.domain.batches import SubmitRequest, submit_batch
from worker.domain.config import load_config
from worker.domain.db import get_engine, session_scope
from worker.domain.ingest import Item, parse_jsonl

LABELS = ["billing", "technical", "account", "shipping", "other"]
REFERENCE_ITEMS = 10_000  #: the row-by-row reference is slow; it runs on this many items


def make_lines(count: int) -> list[bytes]:
    return [
        (
            f'{{"id": "t-{i}", "text": "My card payment of £{i % 500}.99 failed twice, '
            f'please help (order {i})", "metadata": {{"channel": "email"}}}}'
        ).encode()
        for i in range(count)
    ]


def bench_submit(items: list[Item]) -> tuple[float, uuid.UUID]:
    config = load_config()
    started = time.perf_counter()
    with session_scope() as session:
        batch = submit_batch(session, config, SubmitRequest("classify", items, labels=LABELS))
    return time.perf_counter() - started, batch.id


def bench_row_by_row(items: list[Item]) -> float:
    """The naive alternative: one INSERT statement (one round trip) per item."""
    batch_id = uuid.uuid4()
    started = time.perf_counter()
    with get_engine().begin() as conn:
        conn.execute(
            text(
                "INSERT INTO batches (id, task, item_count, params) VALUES (:id, 'classify', "
                ":n, '{}')"
            ),
            {"id": batch_id, "n": len(items)},
        )
        for item in items:
            conn.execute(
                text("INSERT INTO jobs (batch_id, item_id, text) VALUES (:b, :i, :t)"),
                {"b": batch_id, "i": item.item_id, "t": item.text},
            )
    elapsed = time.perf_counter() - started
    with get_engine().begin() as conn:
        conn.execute(text("DELETE FROM batches WHERE id = :id"), {"id": batch_id})
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    args = parser.parse_args()

    lines = make_lines(args.items)
    started = time.perf_counter()
    parsed = parse_jsonl(lines, max_chars=100_000)
    parse_s = time.perf_counter() - started
    parsed.raise_if_problems()

    submit_s, batch_id = bench_submit(parsed.items)
    with get_engine().begin() as conn:
        conn.execute(text("DELETE FROM batches WHERE id = :id"), {"id": batch_id})
    reference = parsed.items[:REFERENCE_ITEMS]
    row_s = bench_row_by_row(reference)

    submit_rate = args.items / submit_s
    row_rate = len(reference) / row_s
    print(
        f"parse+validate: {args.items:,} items in {parse_s:.2f} s = {args.items / parse_s:,.0f}/s"
    )
    print(f"submit_batch (COPY): {args.items:,} items in {submit_s:.2f} s = {submit_rate:,.0f}/s")
    print(
        f"reference, one INSERT per item: {len(reference):,} items in {row_s:.2f} s "
        f"= {row_rate:,.0f}/s"
    )
    print(f"speed-up of submit_batch over the reference: {submit_rate / row_rate:.1f}x")


if __name__ == "__main__":
    main()
