"""What bench/ratelimit.py sends: real ticket texts, the classify request Sluice renders for
them, and what that request costs in the simulator's input tokens.

Both Sluice and the Celery reference send the same request for a ticket: the default config's
classify task, rendered by `worker.domain.tasks_spec.build_request`, in the shape of Sluice's
Anthropic adapter (a forced tool call).
"""

from __future__ import annotations

import statistics
from functools import cache
from pathlib import Path
from typing import Any

import anthropic
import orjson
import yaml

from simulator import SimConfig
from simulator.testing import running_simulator
from worker.domain.config import TaskConfig, default_config_text, parse_config
from worker.domain.tasks_spec import build_request
from worker.providers.anthropic_adapter import message_kwargs as anthropic_message_kwargs

REPO_ROOT = Path(__file__).resolve().parent.parent
TICKETS_PATH = REPO_ROOT / "api" / "samples" / "support_tickets.jsonl"  #: 500 support tickets
LABELS = ["billing", "technical", "account", "shipping", "other"]
TASK = "classify"
MODEL = "claude-haiku-5-5"  #: the classify route's primary model in the default config
API_KEY = "sk-bench-not-a-real-key"  #: what the SDKs send to the simulator
ITEM_ID_FORMAT = "rl-{:06d}"  #: unique item ids; the texts cycle through the sample file


def load_tickets(path: Path = TICKETS_PATH) -> list[str]:
    """The ticket texts of the sample file, in order."""
    with path.open("rb") as lines:
        return [orjson.loads(line)["text"] for line in lines if line.strip()]


def ticket_items(tickets: list[str], count: int) -> list[tuple[str, str]]:
    """`count` (item id, text) pairs, cycling through `tickets`."""
    return [(ITEM_ID_FORMAT.format(i), tickets[i % len(tickets)]) for i in range(count)]


@cache
def _classify_task() -> TaskConfig:
    return parse_config(yaml.safe_load(default_config_text())).tasks[TASK]


def message_kwargs(text: str) -> dict[str, Any]:
    """`messages.create` arguments for one ticket, built by Sluice's own Anthropic adapter."""
    request = build_request(_classify_task(), text=text, params={"labels": LABELS})
    return anthropic_message_kwargs(request, model=MODEL)


def mean_input_tokens(tickets: list[str]) -> float:
    """Mean input tokens of one request per ticket, asked of a throwaway simulator through the
    SDK's `count_tokens` (which the simulator counts exactly as it charges `messages`)."""
    with running_simulator(SimConfig()) as sim:
        client = anthropic.Anthropic(base_url=sim.base_url, api_key=API_KEY, max_retries=0)
        counts = []
        for text in tickets:
            kwargs = message_kwargs(text)
            del kwargs["max_tokens"]
            counts.append(client.messages.count_tokens(**kwargs).input_tokens)
        client.close()
    return statistics.fmean(counts)
