"""Run a simulator for a test: `with running_simulator(SimConfig(rpm=60)) as sim: ...`.

By default the simulator runs as `python -m simulator` in a subprocess on a free port, so it has
its own core and survives nothing of the test's process state; `in_process=True` runs it on a
background thread with its own event loop instead, which starts faster. Either way the handle
gives the URLs to hand the SDKs and reads the admin endpoints with only the standard library:

    with running_simulator(SimConfig(seed=1)) as sim:
        client = anthropic.Anthropic(base_url=sim.base_url, api_key="sk-test", max_retries=0)
        openai.OpenAI(base_url=sim.openai_base_url, api_key="sk-test", max_retries=0)
        sim.update_config(rpm=5)
        assert sim.stats()["by_status"]["200"] == 1
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import orjson

from simulator.config import SimConfig
from simulator.server import start_server

LOCALHOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 15.0  #: how long to wait for the server to answer before giving up
STOP_TIMEOUT_S = 5.0  #: how long a subprocess gets to exit after SIGTERM before SIGKILL
POLL_INTERVAL_S = 0.05  #: between readiness probes
ADMIN_TIMEOUT_S = 10.0  #: for each admin request made through the handle
#: Admin calls go straight to the simulator, whatever proxy the environment names.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
#: Directory that holds the `simulator` package, put on the subprocess's PYTHONPATH.
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class SimHandle:
    """A running simulator: its URLs and its admin endpoints."""

    port: int
    host: str = LOCALHOST

    @property
    def base_url(self) -> str:
        """The host root, as `anthropic.Anthropic(base_url=...)` and ANTHROPIC_BASE_URL want."""
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """The `/v1` root, as `openai.OpenAI(base_url=...)` and OPENAI_BASE_URL want."""
        return f"{self.base_url}/v1"

    def log(self) -> list[dict[str, Any]]:
        """Every request record (see `simulator.records`), oldest first."""
        return list(self._admin("GET", "/_sim/log"))

    def reported_spend_usd(self, input_per_mtok: Decimal, output_per_mtok: Decimal) -> Decimal:
        """What the answered requests cost by the usage the simulator reported, at these
        per-million-token prices: a count of spend independent of Sluice's own ledger."""
        answered = [r for r in self.log() if r["status"] == 200]
        tokens_in = sum(int(r["input_tokens"]) for r in answered)
        tokens_out = sum(int(r["output_tokens"]) for r in answered)
        return (tokens_in * input_per_mtok + tokens_out * output_per_mtok) / Decimal(1_000_000)

    def stats(self) -> dict[str, Any]:
        """Counts of requests by status, endpoint and fault."""
        return dict(self._admin("GET", "/_sim/stats"))

    def config(self) -> dict[str, Any]:
        """The live config."""
        return dict(self._admin("GET", "/_sim/config"))

    def update_config(self, **changes: Any) -> dict[str, Any]:
        """Merge `changes` into the live config (e.g. `rpm=5`); returns the new config."""
        return dict(self._admin("POST", "/_sim/config", changes))

    def reset(self) -> None:
        """Clear the log and the rate limiter's state."""
        self._admin("POST", "/_sim/reset", {})

    def _admin(self, method: str, path: str, body: object = None) -> Any:
        data = None if body is None else orjson.dumps(body)
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with _DIRECT.open(request, timeout=ADMIN_TIMEOUT_S) as response:
                return orjson.loads(response.read())
        except urllib.error.HTTPError as err:
            raise ValueError(f"{method} {path} failed: {err.read().decode()}") from err


@contextlib.contextmanager
def running_simulator(
    config: SimConfig | None = None, *, in_process: bool = False
) -> Iterator[SimHandle]:
    """Run a simulator for `config` on a free 127.0.0.1 port for the `with` block."""
    config = config if config is not None else SimConfig()
    runner = _run_in_thread if in_process else _run_subprocess
    with runner(config) as handle:
        yield handle


@contextlib.contextmanager
def _run_in_thread(config: SimConfig) -> Iterator[SimHandle]:
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop = asyncio.Event()
    outcome: dict[str, Any] = {}

    async def main() -> None:
        try:
            runner, outcome["port"] = await start_server(config, LOCALHOST, 0)
        except BaseException as err:
            outcome["error"] = err
            ready.set()
            raise
        ready.set()
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    thread = threading.Thread(
        target=loop.run_until_complete, args=(main(),), name="simulator", daemon=True
    )
    thread.start()
    if not ready.wait(STARTUP_TIMEOUT_S) or "error" in outcome:
        raise RuntimeError(f"simulator did not start: {outcome.get('error')!r}")
    try:
        yield SimHandle(port=outcome["port"])
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(STOP_TIMEOUT_S)
        if not thread.is_alive():
            loop.close()


@contextlib.contextmanager
def _run_subprocess(config: SimConfig) -> Iterator[SimHandle]:
    port = _free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH")) if p)
    if config.log_path is not None:  # the child runs elsewhere; pin the path down here
        config = dataclasses.replace(config, log_path=str(Path(config.log_path).resolve()))
    command = [
        sys.executable,
        "-m",
        "simulator",
        "--host",
        LOCALHOST,
        "--port",
        str(port),
        *config.to_cli_args(),
    ]
    # The child runs from the package root, so `-m simulator` cannot pick up another module
    # of that name (bench/simulator.py, say) from the caller's directory. Its stderr goes to
    # a file, not a pipe nobody drains, which would stall a chatty server.
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            command, env=env, cwd=PACKAGE_ROOT, stdout=subprocess.DEVNULL, stderr=stderr
        )
        try:
            _wait_until_listening(process, port, stderr)
            yield SimHandle(port=port)
        finally:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_listening(process: subprocess.Popen[bytes], port: int, stderr: IO[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr.seek(0)
            message = stderr.read().decode(errors="replace")
            raise RuntimeError(f"simulator exited with {process.returncode}: {message}")
        try:
            SimHandle(port=port).stats()
            return
        except OSError:
            time.sleep(POLL_INTERVAL_S)
    raise RuntimeError(f"simulator did not answer on port {port} within {STARTUP_TIMEOUT_S} s")


def _free_port() -> int:
    """A port that was free a moment ago (the OS rarely hands it out again so soon)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        return int(sock.getsockname()[1])
