"""Simulator throughput: requests/s and latency on one server core at zero latency.

    python bench/simulator.py [--duration-s 10] [--concurrency 64] [--clients aiohttp,raw]

For each server, the simulator (`python -m simulator`) and, as a reference, a bare aiohttp app
that returns a fixed JSON body, this starts the server in a subprocess pinned to core 0
(`taskset -c 0`) and drives it from a load-generator subprocess pinned to core 1, with keep-alive
connections (not the SDKs, which are slower than the server, see DESIGN.md) sending realistic
classification requests to `/v1/messages` (forced tool) and `/v1/chat/completions`
(json_schema), one endpoint at a time. It prints requests/s, p50/p99 client-side latency, the
server's CPU use over the measured window (from /proc), requests per server CPU-second, and the
simulator/bare ratio, then a Markdown table.

Two clients: `aiohttp` (a ClientSession) and `raw` (a minimal asyncio HTTP/1.1 protocol). The
aiohttp client costs more CPU per request than the server does, so on one core it cannot
saturate the server (its runs show server CPU well below 100 %); the raw client can, so its runs
measure the server's own capacity.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVER_CORE = "0"  #: core the server is pinned to
GENERATOR_CORE = "1"  #: core the load generators are pinned to
STARTUP_TIMEOUT_S = 15.0  #: wait for a server to answer
WARMUP_S = 1.0  #: requests sent before measuring starts
LABELS = ["billing", "bug", "feature_request", "account", "other"]
#: Ticket texts, varied so the simulator hashes and counts different inputs.
TICKETS = [
    f"Ticket {i}: I was charged twice for my subscription this month and the app crashes "
    f"when I open the billing page on my phone. Order #{1000 + i}. Please help!"
    for i in range(200)
]
ANTHROPIC_TOOL = {
    "name": "classify",
    "description": "Record the ticket's category.",
    "input_schema": {
        "type": "object",
        "properties": {"label": {"type": "string", "enum": LABELS}},
        "required": ["label"],
    },
}
OPENAI_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "classification",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"label": {"type": "string", "enum": LABELS}},
            "required": ["label"],
            "additionalProperties": False,
        },
    },
}
SYSTEM = "You are a support ticket classifier. Answer with exactly one label."
#: What the bare reference server answers: a fixed message the size of a real classify answer.
FIXED_BODY = orjson.dumps(
    {
        "id": "msg_fixed",
        "type": "message",
        "role": "assistant",
        "model": "claude-sim",
        "content": [
            {
                "type": "tool_use",
                "id": "toolu_fixed",
                "name": "classify",
                "input": {"label": "billing"},
            }
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 120,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 9,
            "service_tier": "standard",
        },
    }
)


def request_bodies(endpoint: str) -> list[bytes]:
    """Pre-encoded request bodies for `endpoint`, one per ticket."""
    if endpoint == "/v1/messages":
        return [
            orjson.dumps(
                {
                    "model": "claude-sim",
                    "max_tokens": 64,
                    "system": SYSTEM,
                    "messages": [{"role": "user", "content": text}],
                    "tools": [ANTHROPIC_TOOL],
                    "tool_choice": {"type": "tool", "name": "classify"},
                }
            )
            for text in TICKETS
        ]
    return [
        orjson.dumps(
            {
                "model": "gpt-sim",
                "max_completion_tokens": 64,
                "response_format": OPENAI_FORMAT,
                "messages": [
                    {"role": "system", "content": SYSTEM},
                    {"role": "user", "content": text},
                ],
            }
        )
        for text in TICKETS
    ]


class RawConnection(asyncio.Protocol):
    """A minimal keep-alive HTTP/1.1 client connection: one request at a time, status only.

    Far cheaper per request than aiohttp's client, so one generator core can saturate a server
    core; it relies on the server sending Content-Length, as aiohttp's web.Response does.
    """

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        head = bytes(self.buffer[:end]).lower()
        start = head.index(b"content-length:") + len(b"content-length:")
        stop = head.find(b"\r\n", start)
        total = end + 4 + int(head[start : stop if stop >= 0 else None])
        if len(self.buffer) >= total:
            status = int(self.buffer[9:12])
            del self.buffer[:total]
            self.waiter.set_result(status)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("server closed the connection"))

    async def request(self, data: bytes) -> int:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.waiter


def raw_requests(url: str, endpoint: str) -> list[bytes]:
    """Complete HTTP/1.1 requests (head and body) for the raw client."""
    host = url.split("://", 1)[1]
    return [
        (
            f"POST {endpoint} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer sk-bench\r\n"
            f"anthropic-version: 2023-06-01\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
        for body in request_bodies(endpoint)
    ]


async def generate_load(
    url: str, endpoint: str, client: str, concurrency: int, duration_s: float
) -> dict[str, Any]:
    """Send requests from `concurrency` workers for `duration_s`; count and time them.

    Prints `start` and `stop` lines when measuring begins and ends, so the parent can read the
    server's CPU time over exactly that window.
    """
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    errors = 0
    measuring = False
    stop = asyncio.Event()
    bodies = request_bodies(endpoint)
    raw = raw_requests(url, endpoint)
    session = aiohttp.ClientSession(
        url,
        connector=aiohttp.TCPConnector(limit=concurrency),
        headers={
            "Authorization": "Bearer sk-bench",
            "Content-Type": "application/json",
            "anthropic-version": "2023-06-01",
        },
    )

    async def send_aiohttp(index: int) -> int:
        async with session.post(endpoint, data=bodies[index % len(bodies)]) as response:
            await response.read()
            return response.status

    async def worker(offset: int) -> None:
        nonlocal errors
        if client == "raw":
            host, port = url.split("://", 1)[1].split(":")
            _, connection = await loop.create_connection(RawConnection, host, int(port))
        index = offset
        while not stop.is_set():
            started = time.perf_counter()
            if client == "raw":
                status = await connection.request(raw[index % len(raw)])
            else:
                status = await send_aiohttp(index)
            index += concurrency
            if measuring:
                latencies.append(time.perf_counter() - started)
                errors += status != 200

    async with session:
        tasks = [asyncio.create_task(worker(i)) for i in range(concurrency)]
        await asyncio.sleep(WARMUP_S)
        print("start", flush=True)
        measuring, started = True, time.perf_counter()
        await asyncio.sleep(duration_s)
        measuring, elapsed_s = False, time.perf_counter() - started
        print("stop", flush=True)
        stop.set()
        await asyncio.gather(*tasks)
    return {
        "requests": len(latencies),
        "errors": errors,
        "elapsed_s": elapsed_s,
        "latencies_ms": [round(x * 1000, 3) for x in latencies],
    }


def serve_bare(port: int) -> None:
    """The reference server: aiohttp returning a fixed JSON body to any POST."""

    async def handler(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(
            body=FIXED_BODY, content_type="application/json", headers={"request-id": "req_fixed"}
        )

    app = web.Application()
    app.router.add_post("/{tail:.*}", handler)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of `pid` so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(kind: str, endpoint: str, client: str, args: argparse.Namespace) -> dict[str, Any]:
    """Start a `kind` server on core 0, load `endpoint` from core 1, return the figures."""
    port = free_port()
    if kind == "simulator":
        server_cmd = [sys.executable, "-m", "simulator", "--port", str(port)]
    else:
        server_cmd = [sys.executable, __file__, "--serve-bare", "--port", str(port)]
    # cwd is the repo root so `-m simulator` finds the package, not this file.
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    server = subprocess.Popen(
        ["taskset", "-c", SERVER_CORE, *server_cmd],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, server)
        load_cmd = [
            "taskset",
            "-c",
            GENERATOR_CORE,
            sys.executable,
            __file__,
            "--load",
            "--url",
            f"http://127.0.0.1:{port}",
            "--endpoint",
            endpoint,
            "--client",
            client,
            "--concurrency",
            str(args.concurrency),
            "--duration-s",
            str(args.duration_s),
        ]
        generator = subprocess.Popen(load_cmd, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE)
        assert generator.stdout is not None
        if generator.stdout.readline().strip() != b"start":
            raise RuntimeError("load generator failed to start")
        cpu_start, wall_start = cpu_seconds(server.pid), time.monotonic()
        if generator.stdout.readline().strip() != b"stop":
            raise RuntimeError("load generator failed")
        server_cpu_pct = (
            100.0 * (cpu_seconds(server.pid) - cpu_start) / (time.monotonic() - wall_start)
        )
        result = json.loads(generator.communicate()[0])
    finally:
        server.terminate()
        server.wait()
    latencies = sorted(result["latencies_ms"])
    return {
        "server": kind,
        "endpoint": endpoint,
        "client": client,
        "rps": result["requests"] / result["elapsed_s"],
        "errors": result["errors"],
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[max(int(len(latencies) * 0.99) - 1, 0)],
        "server_cpu_pct": server_cpu_pct,
    }


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def per_cpu_second(row: dict[str, Any]) -> float:
    """Requests served per second of server CPU: capacity, less sensitive to a busy machine."""
    return row["rps"] / max(row["server_cpu_pct"] / 100.0, 1e-9)


def print_table(rows: list[dict[str, Any]]) -> None:
    """A Markdown table of simulator/bare pairs."""
    print(
        "\n| client | endpoint | server | requests/s | p50 ms | p99 ms | server CPU "
        "| req per server CPU-s | sim/bare req/s |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for sim_row, bare_row in zip(rows[::2], rows[1::2], strict=True):
        ratio = sim_row["rps"] / bare_row["rps"]
        for row in (sim_row, bare_row):
            shown = f"{ratio:.2f}" if row is sim_row else ""
            print(
                f"| {row['client']} | `{row['endpoint']}` | {row['server']} | {row['rps']:.0f} | "
                f"{row['p50_ms']:.2f} | {row['p99_ms']:.2f} | {row['server_cpu_pct']:.0f} % | "
                f"{per_cpu_second(row):.0f} | {shown} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration-s", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--clients",
        default="aiohttp,raw",
        help="load generator clients to run, comma-separated: aiohttp, raw",
    )
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--client", default="aiohttp", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.port)
        return
    if args.load:
        result = asyncio.run(
            generate_load(args.url, args.endpoint, args.client, args.concurrency, args.duration_s)
        )
        sys.stdout.write(json.dumps(result))
        return
    print(
        f"machine: {os.cpu_count()} cores (nproc), {cpu_model()}, Python "
        f"{platform.python_version()}, aiohttp {aiohttp.__version__}"
    )
    print(f"settings: {args.duration_s:g} s per run, concurrency {args.concurrency}")
    rows = []
    for client in args.clients.split(","):
        for endpoint in ("/v1/messages", "/v1/chat/completions"):
            for kind in ("simulator", "bare"):
                row = measure(kind, endpoint, client, args)
                rows.append(row)
                print(
                    f"{client:7} {kind:9} {endpoint:22} {row['rps']:7.0f} req/s"
                    f"  p50 {row['p50_ms']:6.2f} ms  p99 {row['p99_ms']:6.2f} ms"
                    f"  server CPU {row['server_cpu_pct']:5.1f} %  errors {row['errors']}",
                    flush=True,
                )
    print_table(rows)


if __name__ == "__main__":
    main()
