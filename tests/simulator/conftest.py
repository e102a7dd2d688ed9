"""Fixtures for the simulator tests: a simulator on a free port, stopped after each test."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from simulator import SimConfig
from simulator.testing import SimHandle, running_simulator

from .helpers import StartSim


@pytest.fixture
def start_sim() -> Iterator[StartSim]:
    """Start an in-process simulator with `SimConfig(**fields)`; stopped after the test."""
    with contextlib.ExitStack() as stack:

        def start(**fields: Any) -> SimHandle:
            return stack.enter_context(running_simulator(SimConfig(**fields), in_process=True))

        yield start


@pytest.fixture
def sim(start_sim: StartSim) -> SimHandle:
    """A simulator with the default config: no limits, no faults."""
    return start_sim()
