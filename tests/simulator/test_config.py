"""SimConfig validation, live merges, and the CLI flags that rebuild it."""

from __future__ import annotations

import pytest

from simulator import SimConfig
from simulator.__main__ import build_parser
from simulator.config import merge_config


def test_sim_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="error_500_rate"):
        SimConfig(error_500_rate=1.5)
    with pytest.raises(ValueError, match="add up"):
        SimConfig(error_500_rate=0.6, overloaded_rate=0.6)
    with pytest.raises(ValueError, match="rpm"):
        SimConfig(rpm=0)
    with pytest.raises(ValueError, match="latency_ms"):
        SimConfig(latency_ms=-1)


def test_merge_config_changes_fields_and_refuses_unknown_ones() -> None:
    config = merge_config(SimConfig(rpm=10), {"rpm": 5, "error_500_rate": 0.1})
    assert (config.rpm, config.error_500_rate) == (5, 0.1)
    assert merge_config(config, {"rpm": None}).rpm is None
    with pytest.raises(ValueError, match="unknown"):
        merge_config(config, {"rmp": 5})
    with pytest.raises(ValueError, match="log_path"):
        merge_config(config, {"log_path": "/tmp/elsewhere.jsonl"})


def test_cli_args_round_trip_through_the_parser() -> None:
    config = SimConfig(
        seed=3,
        latency_ms=5.0,
        jitter_ms=1.5,
        timeout_rate=0.2,
        timeout_hang_s=2.0,
        rpm=60,
        input_tpm=1000,
        output_tpm=500,
        tpm=2000,
        max_concurrency=4,
        log_path="/tmp/sim.jsonl",
    )
    args = vars(build_parser().parse_args(config.to_cli_args()))
    args.pop("host"), args.pop("port")
    assert SimConfig(**args) == config
