"""``sluice demo``: classify bundled support tickets end to end with no services and no keys.

It starts (or reuses) the embedded Postgres and Redis, the provider simulator in place of the
real APIs, and a real Celery worker, then submits a batch and reports what happened. The
answers come from the simulator, which picks labels deterministically; they are not a model's.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.table import Table

from api.context import prepare
from api.dispatch import enqueue_dispatch, wait_for_workers
from api.embedded import free_port
from api.views import usd, wait_with_progress
from worker.domain.batches import BatchView, SubmitRequest, submit_batch
from worker.domain.db import safe_url, session_scope
from worker.domain.errors import ServiceUnavailable
from worker.domain.ingest import Item, parse_jsonl
from worker.domain.results import breakdown

SAMPLE = "samples/support_tickets.jsonl"  #: bundled tickets, inside the api package
DEMO_LABELS = ["billing", "technical", "account", "shipping", "other"]
DEMO_KEY = "sk-sluice-demo-not-a-real-key"  #: what the SDKs send to the local simulator
SIMULATOR_ARGS = [
    "--latency-ms",
    "40",
    "--jitter-ms",
    "30",
    "--overloaded-rate",
    "0.02",
    "--seed",
    "7",
]  #: realistic-ish latency and a few overloads to retry
START_TIMEOUT_S = 20.0  #: how long the simulator may take to listen
DEMO_TIMEOUT_S = 600.0  #: give up waiting for the batch after this long
WORKER_READY_TIMEOUT_S = 60.0  #: how long the worker may take to answer a ping
CONNECT_TIMEOUT_S = 0.5  #: one probe of the simulator's port
STOP_TIMEOUT_S = 15.0  #: a child gets this long after SIGTERM before it is killed


def sample_items(count: int) -> list[Item]:
    raw = resources.files("api").joinpath(SAMPLE).read_bytes().splitlines()
    base = parse_jsonl(raw, max_chars=100_000).items
    items = []
    for index in range(count):
        item = base[index % len(base)]
        round_ = index // len(base)
        item_id = item.item_id if round_ == 0 else f"{item.item_id}-r{round_}"
        items.append(Item(line=index + 1, item_id=item_id, text=item.text, metadata=item.metadata))
    return items


def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceUnavailable("the provider simulator exited while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=CONNECT_TIMEOUT_S):
                return
        except OSError:
            time.sleep(0.1)
    raise ServiceUnavailable(f"the provider simulator did not listen on port {port}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def demo_processes(workers: int, log_dir: Path) -> Iterator[None]:
    """The simulator and a worker, with the SDKs pointed at the simulator in their env only."""
    port = free_port()
    env = {
        **os.environ,
        "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{port}",
        "OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1",
        "ANTHROPIC_API_KEY": DEMO_KEY,
        "OPENAI_API_KEY": DEMO_KEY,
    }
    log_dir.mkdir(parents=True, exist_ok=True)
    sim_log = (log_dir / "demo-simulator.log").open("ab")
    worker_log = (log_dir / "demo-worker.log").open("ab")
    simulator = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--port", str(port), *SIMULATOR_ARGS],
        env=env,
        stdout=sim_log,
        stderr=subprocess.STDOUT,
    )
    worker = None
    try:
        _wait_listening(port, simulator)
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "api.cli",
                "worker",
                "-c",
                str(workers),
                "--loglevel",
                "WARNING",
            ],
            env=env,
            stdout=worker_log,
            stderr=subprocess.STDOUT,
        )
        if not wait_for_workers(timeout_s=WORKER_READY_TIMEOUT_S):
            raise ServiceUnavailable(
                f"the demo worker did not start; see {log_dir}/demo-worker.log"
            )
        yield
    finally:
        if worker is not None:
            _stop(worker)
        _stop(simulator)
        sim_log.close()
        worker_log.close()


def run_demo(*, items: int, workers: int, console: Console) -> None:
    services, config = prepare()
    where = services.home if services.embedded else "the configured Postgres and Redis"
    console.print(
        f"[bold]Sluice demo[/] — data in {where}; provider answers come from the "
        "local simulator, not a real model.",
        soft_wrap=True,
    )
    console.print(
        f"Postgres: {safe_url(services.database_url)}   Redis: {safe_url(services.redis_url)}",
        soft_wrap=True,
        highlight=False,
    )
    log_dir = (services.home or Path(".sluice")).resolve()
    with demo_processes(workers, log_dir):
        request = SubmitRequest(
            task="classify", items=sample_items(items), labels=DEMO_LABELS, name="sluice demo"
        )
        started = time.monotonic()
        with session_scope() as session:
            batch = submit_batch(session, config, request)
        enqueue_dispatch(batch.id)
        console.print(f"submitted batch {batch.id} with {items} tickets")
        final = wait_with_progress(batch.id, console, timeout_s=DEMO_TIMEOUT_S)
        elapsed_s = time.monotonic() - started
    with session_scope() as session:
        parts = breakdown(session, batch.id)
    _print_summary(console, final, parts, elapsed_s, log_dir)
    if not final.done:
        raise ServiceUnavailable(f"the demo batch did not finish; see the logs in {log_dir}")


def _print_summary(
    console: Console,
    view: BatchView,
    parts: dict[str, dict[str, int]],
    elapsed_s: float,
    log_dir: Path,
) -> None:
    labels = Table(title="labels")
    labels.add_column("label")
    labels.add_column("jobs", justify="right")
    for label, count in parts["labels"].items():
        labels.add_row(label, str(count))
    models = Table(title="models")
    models.add_column("model")
    models.add_column("jobs", justify="right")
    for model, count in parts["models"].items():
        models.add_row(model, str(count))
    console.print(labels, models)
    done = sum(view.counts.get(s, 0) for s in ("succeeded", "failed", "canceled"))
    console.print(
        f"states: {json.dumps(view.counts)}\n"
        f"tokens: {view.input_tokens:,} in, {view.output_tokens:,} out"
        f"   cost: {usd(view.cost_usd)}   "
        f"throughput: {done / elapsed_s:.1f} jobs/s over {elapsed_s:.1f} s\n"
        f"logs: {log_dir}/demo-worker.log, {log_dir}/demo-simulator.log",
        highlight=False,
    )
