"""Rate limits follow the config file while a worker runs; a broken edit keeps the last good
limits, and a model the new file drops keeps the limits the worker started with."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import fast_config, write_config
from worker.config_watch import LimitsWatch
from worker.domain.config import load_config_file

MODEL = "claude-haiku-5-5"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _write(path: Path, rpm: int, *, drop: str | None = None, stamp: int) -> None:
    data = fast_config()
    data["providers"]["anthropic"]["limits"]["rpm"] = rpm  # type: ignore[index]
    if drop:
        del data["models"][drop]  # type: ignore[attr-defined]
        for task in data["tasks"].values():  # type: ignore[attr-defined]
            task["route"] = [m for m in task["route"] if m != drop]
    write_config(path, data)
    os.utime(path, ns=(stamp, stamp))  # a distinct modification time, whatever the clock


def test_a_changed_limit_is_used_after_the_next_check(tmp_path: Path) -> None:
    path = tmp_path / "sluice.yaml"
    _write(path, 100, stamp=1)
    clock = FakeClock()
    watch = LimitsWatch(load_config_file(path), path, check_every_s=5, clock=clock)
    _write(path, 250, stamp=2)

    assert watch.scopes(MODEL)[0].limits.rpm == 100  # not looked at yet
    clock.now += 5
    assert watch.scopes(MODEL)[0].limits.rpm == 250
    assert watch.scopes(MODEL)[0].name == "provider:anthropic"  # same scope: same Redis usage


def test_a_broken_edit_keeps_the_last_good_limits(tmp_path: Path) -> None:
    path = tmp_path / "sluice.yaml"
    _write(path, 100, stamp=1)
    clock = FakeClock()
    watch = LimitsWatch(load_config_file(path), path, check_every_s=5, clock=clock)
    _write(path, 300, stamp=2)
    clock.now += 5
    assert watch.scopes(MODEL)[0].limits.rpm == 300

    path.write_text("providers: [not, a, mapping\n")
    os.utime(path, ns=(3, 3))
    clock.now += 5

    assert watch.scopes(MODEL)[0].limits.rpm == 300


def test_a_model_the_new_file_drops_keeps_its_starting_limits(tmp_path: Path) -> None:
    path = tmp_path / "sluice.yaml"
    _write(path, 100, stamp=1)
    clock = FakeClock()
    watch = LimitsWatch(load_config_file(path), path, check_every_s=5, clock=clock)
    _write(path, 400, drop="gpt-5.5", stamp=2)
    clock.now += 5

    assert watch.scopes(MODEL)[0].limits.rpm == 400
    assert watch.scopes("gpt-5.5")[0].name == "provider:openai"  # still callable, as before
