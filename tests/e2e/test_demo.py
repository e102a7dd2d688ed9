"""`sluice demo` on the embedded default: no URLs, no keys; real Postgres, Redis and worker."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil


def _processes_using(path: Path) -> list[str]:
    found = []
    for proc in psutil.process_iter(attrs=["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(path) in cmdline:
            found.append(cmdline)
    return found


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_demo_runs_end_to_end_on_embedded_services_and_stops_them(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SLUICE_DATABASE_URL", "SLUICE_REDIS_URL", "SLUICE_CONFIG")
        and not k.endswith("_API_KEY")
        and not k.endswith("_BASE_URL")
    }
    env["COLUMNS"] = "120"

    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "demo", "--items", "60", "--workers", "1"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    output = done.stderr
    assert f"data in {tmp_path / '.sluice'}" in output
    assert 'states: {"succeeded": 60}' in output
    assert "claude-haiku-5-5" in output and "labels" in output
    assert "cost: $0.0" in output and "jobs/s" in output
    assert (tmp_path / ".sluice" / "postgres" / "PG_VERSION").exists()
    redis_port = int(re.search(r"Redis: redis://127.0.0.1:(\d+)", output)[1])
    assert not _listening(redis_port)  # the embedded Redis was stopped by its owner
    assert not (tmp_path / ".sluice" / "redis.url").exists()
    deadline = time.monotonic() + 20
    while _processes_using(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _processes_using(tmp_path) == []  # Postgres, Redis, worker and simulator all stopped
