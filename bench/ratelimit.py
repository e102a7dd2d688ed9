"""Global rate limits (issue 3): does a cluster of Sluice workers run close to a provider's limit,
with no 429s, and never over it in any 60 s window? Compared with plain Celery and its own
per-worker `rate_limit`.

    python bench/ratelimit.py [--mode rpm|tpm|both] [--duration-s 120] [--workers 4] ...

Needs Postgres on 127.0.0.1:5432 (trust auth) and Redis on 127.0.0.1:6379. The script creates
and migrates its own database (`sluice_bench_rl`) and uses one Redis database (14 by default),
which it empties at the start of every run and at the end; it refuses a database a test session
has claimed. Logs, configs and the simulator's request logs go to `--workdir` (a new temporary
directory by default), figures to `results.json` there.

Method, for each mode:
1. The provider simulator runs as a subprocess with latency 300 ms ± 100 ms and RPM 3000. In
   `tpm` mode it also limits input tokens per minute to `--tpm-target-rpm` (1650) times the mean
   input tokens of one request, measured first with `count_tokens` on the 500 sample tickets, so
   input TPM binds well before RPM.
2. Sluice: a config derived from the built-in default, with `providers.anthropic.limits` set to
   the simulator's limits and nothing else, `--workers` worker processes of one Celery process
   each (`python -m api.cli worker -c 1`). A process runs one chunk at a time, all its jobs
   concurrently, so chunk_size 250 and max_inflight_per_process 256 let 4 processes hold 1000
   calls in flight. A batch of allowed-requests-per-minute × duration/60 × 1.2 classify jobs
   (the sample tickets, cycled, unique ids) is stored with `submit_batch` and dispatched with
   `enqueue_dispatch`.
3. Reference: a fresh simulator with the same limits, and `--workers` plain Celery workers
   (`bench/_celery_reference.py`; a pool of 64 threads each by default) whose task makes the
   same request with the sync `anthropic` SDK, retries off, and a per-worker `rate_limit` of
   the allowed request rate ÷ workers: what an operator would configure. A 429 is recorded by
   the simulator, not retried.
4. Each run is measured from the first request the simulator saw for `--duration-s` seconds;
   then the batch is canceled (Sluice) and the workers stopped. Every figure comes from the
   simulator's own request log, none from Sluice: achieved rate ÷ limit over that span (requests
   ÷ RPM in rpm mode, input tokens ÷ input TPM in tpm mode), 429s in all and after the first
   second, the busiest 60 s window (over windows starting at every admitted request, as the
   simulator judges its limits) in requests and input tokens, the busiest second, and requests
   per 10 s.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `python bench/ratelimit.py` puts bench/ first on sys.path, where bench/simulator.py would
# shadow the simulator package; the repository root goes in front of it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import json
import os
import platform
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict

import yaml
from celery import Celery

from api.dispatch import enqueue_dispatch
from bench._celery_reference import BROKER_ENV, QUEUE, RATE_LIMIT_ENV, TASK_NAME
from bench._rl_analysis import MESSAGES_ENDPOINT, Figures, analyze
from bench._rl_plan import Plan, make_plan
from bench._rl_procs import (
    REPO_ROOT,
    BenchError,
    ProcessSpec,
    claim_redis_db,
    prepare_database,
    release_redis_db,
    running_groups,
    sleep_until,
    wait_for_first_request,
    wait_for_workers,
)
from bench._rl_report import render_mode
from bench._rl_requests import (
    API_KEY,
    LABELS,
    TASK,
    load_tickets,
    mean_input_tokens,
    message_kwargs,
    ticket_items,
)
from simulator import SimConfig
from simulator.testing import SimHandle, running_simulator
from worker.domain.batches import SubmitRequest, cancel_batch, submit_batch
from worker.domain.config import default_config_text, load_config
from worker.domain.db import session_scope
from worker.domain.ingest import Item

SIM_LATENCY_MS = 300.0  #: the simulator's mean latency
SIM_JITTER_MS = 100.0  #: ± uniform around it
SIM_SEED = 3  #: seeds the simulator's latency draws
DEFAULT_RPM = 3000  #: the simulator's RPM limit, and Sluice's
DEFAULT_TPM_TARGET_RPM = 1650  #: requests/min the input-TPM limit allows in tpm mode
TAIL_S = 2.0  #: wait this long past the span before stopping, so the log holds all of it
WORKER_START_TIMEOUT_S = 90.0  #: for every worker to answer a ping
FIRST_REQUEST_TIMEOUT_S = 60.0  #: from submission to the simulator's first request


def sim_config(plan: Plan, log_path: Path) -> SimConfig:
    return SimConfig(
        seed=SIM_SEED,
        latency_ms=SIM_LATENCY_MS,
        jitter_ms=SIM_JITTER_MS,
        rpm=plan.rpm,
        input_tpm=plan.input_tpm,
        log_path=log_path,
    )


def write_sluice_config(plan: Plan, args: argparse.Namespace, path: Path) -> Path:
    """The default config with the simulator's limits on the Anthropic provider (nothing else,
    so no other limit binds) and worker settings that keep many calls in flight."""
    data = yaml.safe_load(default_config_text())
    limits: dict[str, int] = {"rpm": plan.rpm}
    if plan.input_tpm is not None:
        limits["input_tpm"] = plan.input_tpm
    data["providers"]["anthropic"]["limits"] = limits
    data["worker"].update(chunk_size=args.chunk_size, max_inflight_per_process=args.max_inflight)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def submit_batch_of(items: Sequence[tuple[str, str]], name: str) -> uuid.UUID:
    """Store the batch through the service function and wake the dispatcher, as the CLI does."""
    request = SubmitRequest(
        task=TASK,
        items=[
            Item(line=i + 1, item_id=item_id, text=text) for i, (item_id, text) in enumerate(items)
        ],
        labels=LABELS,
        name=name,
    )
    with session_scope() as session:
        batch = submit_batch(session, load_config(), request)
    enqueue_dispatch(batch.id)
    return batch.id


def cancel(batch_id: uuid.UUID) -> None:
    with session_scope() as session:
        cancel_batch(session, batch_id)


def sluice_env(args: argparse.Namespace, config_path: Path, sim: SimHandle) -> dict[str, str]:
    return {
        **os.environ,
        "SLUICE_DATABASE_URL": args.database_url,
        "SLUICE_REDIS_URL": args.redis_url,
        "SLUICE_CONFIG": str(config_path),
        "SLUICE_HOME": str(args.workdir / "sluice-home"),
        "ANTHROPIC_BASE_URL": sim.base_url,
        "OPENAI_BASE_URL": sim.openai_base_url,
        "ANTHROPIC_API_KEY": API_KEY,
        "OPENAI_API_KEY": API_KEY,
    }


def wait_out_span(sim: SimHandle, plan: Plan) -> None:
    first_s = wait_for_first_request(sim, MESSAGES_ENDPOINT, timeout_s=FIRST_REQUEST_TIMEOUT_S)
    say(
        f"  first request at {time.strftime('%H:%M:%S', time.localtime(first_s))}; "
        f"measuring {plan.duration_s:.0f} s"
    )
    sleep_until(first_s + plan.duration_s + TAIL_S)


def run_sluice(plan: Plan, args: argparse.Namespace, tickets: list[str]) -> Figures:
    say(f"[{plan.mode}] Sluice: {plan.workers} workers, {plan.jobs:,} jobs")
    claim_redis_db(args.redis_url)
    workdir: Path = args.workdir
    config_path = write_sluice_config(plan, args, workdir / f"sluice-{plan.mode}.yaml")
    with running_simulator(sim_config(plan, workdir / f"sim-sluice-{plan.mode}.jsonl")) as sim:
        env = sluice_env(args, config_path, sim)
        for name in ("SLUICE_DATABASE_URL", "SLUICE_REDIS_URL", "SLUICE_CONFIG"):
            os.environ[name] = env[name]  # this process submits and cancels the batch
        command = [sys.executable, "-m", "api.cli", "worker", "-c", "1", "--loglevel", "INFO"]
        specs = [
            ProcessSpec(command, env, workdir / f"sluice-{plan.mode}-worker{i}.log")
            for i in range(plan.workers)
        ]
        with running_groups(specs) as procs:
            wait_for_workers(args.redis_url, procs, timeout_s=WORKER_START_TIMEOUT_S)
            batch_id = submit_batch_of(ticket_items(tickets, plan.jobs), f"bench-rl-{plan.mode}")
            try:
                wait_out_span(sim, plan)
            finally:
                cancel(batch_id)
        records = sim.log()
    return analyze(records, duration_s=plan.duration_s, rpm=plan.rpm, input_tpm=plan.input_tpm)


def publish_reference(broker_url: str, items: Sequence[tuple[str, str]]) -> None:
    client = Celery("bench-reference-client", broker=broker_url)
    try:
        with client.producer_or_acquire() as producer:
            for _, text in items:
                client.send_task(
                    TASK_NAME, args=[message_kwargs(text)], queue=QUEUE, producer=producer
                )
    finally:
        client.close()


def run_reference(plan: Plan, args: argparse.Namespace, tickets: list[str]) -> Figures:
    say(
        f"[{plan.mode}] reference: {plan.workers} Celery workers, "
        f"{args.ref_pool} pool of {args.ref_concurrency}, rate_limit "
        f"{plan.reference_rate_limit} each, {plan.jobs:,} tasks"
    )
    claim_redis_db(args.redis_url)
    workdir: Path = args.workdir
    with running_simulator(sim_config(plan, workdir / f"sim-reference-{plan.mode}.jsonl")) as sim:
        env = {
            **os.environ,
            BROKER_ENV: args.redis_url,
            RATE_LIMIT_ENV: plan.reference_rate_limit,
            "ANTHROPIC_BASE_URL": sim.base_url,
            "ANTHROPIC_API_KEY": API_KEY,
            "PYTHONPATH": str(REPO_ROOT),
        }
        specs = [
            ProcessSpec(
                reference_command(args, i),
                env,
                workdir / f"reference-{plan.mode}-worker{i}.log",
            )
            for i in range(plan.workers)
        ]
        with running_groups(specs) as procs:
            wait_for_workers(args.redis_url, procs, timeout_s=WORKER_START_TIMEOUT_S)
            publish_reference(args.redis_url, ticket_items(tickets, plan.jobs))
            wait_out_span(sim, plan)
        records = sim.log()
    return analyze(records, duration_s=plan.duration_s, rpm=plan.rpm, input_tpm=plan.input_tpm)


def reference_command(args: argparse.Namespace, index: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "bench._celery_reference",
        "worker",
        f"--pool={args.ref_pool}",
        f"--concurrency={args.ref_concurrency}",
        f"--queues={QUEUE}",
        f"--hostname=ref{index}@%h",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=WARNING",
    ]


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def machine() -> dict[str, object]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--mode", choices=("rpm", "tpm", "both"), default="both")
    add("--duration-s", type=float, default=120.0, help="measured span of each run")
    add("--workers", type=int, default=4, help="worker processes, Sluice and reference")
    add("--rpm", type=int, default=DEFAULT_RPM, help="the simulator's and Sluice's RPM")
    add(
        "--tpm-target-rpm",
        type=int,
        default=DEFAULT_TPM_TARGET_RPM,
        help="tpm mode: requests/min the derived input TPM allows",
    )
    add("--input-tpm", type=int, help="tpm mode: use this input TPM instead of deriving it")
    add("--chunk-size", type=int, default=250, help="Sluice worker.chunk_size")
    add("--max-inflight", type=int, default=256, help="Sluice worker.max_inflight_per_process")
    add("--ref-pool", choices=("threads", "prefork"), default="threads", help="reference pool")
    add("--ref-concurrency", type=int, default=64, help="pool size of each reference worker")
    add("--redis-url", default="redis://127.0.0.1:6379/14", help="a Redis database of its own")
    add("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    add("--database", default="sluice_bench_rl", help="the benchmark's own database")
    add("--workdir", type=Path, help="for logs and results (default: a new temp directory)")
    args = parser.parse_args(argv)
    if args.redis_url.rstrip("/").rsplit("/", 1)[-1] in ("0", "6379"):
        parser.error("--redis-url must name a database other than 0; the script empties it")
    args.workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-ratelimit-"))
    args.workdir.mkdir(parents=True, exist_ok=True)
    return args


def run_modes(args: argparse.Namespace) -> list[str]:
    """Run every mode (Sluice, then the reference); return their Markdown tables."""
    args.database_url = prepare_database(args.admin_url, args.database)
    tickets = load_tickets()
    tokens_per_request = mean_input_tokens(tickets)
    say(f"mean input tokens per request: {tokens_per_request:.1f}")
    modes: list[dict[str, object]] = []
    report = {"machine_before": machine(), "modes": modes}
    tables = []
    try:
        for mode in ("rpm", "tpm") if args.mode == "both" else (args.mode,):
            plan = make_plan(
                mode,
                rpm=args.rpm,
                tokens_per_request=tokens_per_request,
                duration_s=args.duration_s,
                workers=args.workers,
                tpm_target_rpm=args.tpm_target_rpm,
                input_tpm=args.input_tpm,
            )
            sluice = run_sluice(plan, args, tickets)
            reference = run_reference(plan, args, tickets)
            tables.append(render_mode(plan, sluice, reference))
            say(tables[-1])
            modes.append(
                {"plan": asdict(plan), "sluice": sluice.as_dict(), "reference": reference.as_dict()}
            )
    finally:
        release_redis_db(args.redis_url)
    report["machine_after"] = machine()
    (args.workdir / "results.json").write_text(json.dumps(report, indent=2))
    return tables


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    say(f"workdir: {args.workdir}")
    try:
        tables = run_modes(args)
    except BenchError as err:
        say(f"error: {err}")
        return 1
    print("\n\n".join(tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
