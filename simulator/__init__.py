"""Sluice's provider simulator: an HTTP server the official `anthropic` and `openai` SDKs
accept as the real API, with deterministic answers, per-key rate limits and seeded faults.

Run it with `python -m simulator` or `sluice simulator`; in tests, use
`simulator.testing.running_simulator`.
"""

from simulator.config import SimConfig
from simulator.server import create_app, serve
from simulator.tokens import count_tokens

__all__ = ["SimConfig", "count_tokens", "create_app", "serve"]
