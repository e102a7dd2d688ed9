"""The simulator's aiohttp application and how to run it.

`create_app(config)` wires both provider APIs and the admin endpoints onto one application.
`serve(config, host, port)` runs it until SIGINT or SIGTERM; `start_server` runs it inside an
existing event loop (used by `simulator.testing`). New endpoints (Message Batches, Files,
OpenAI Batches) plug in as another `add_post` with their dialect and parse function.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from simulator.admin import add_admin_routes
from simulator.anthropic_api import (
    COUNT_TOKENS_PATH,
    MESSAGES_PATH,
    AnthropicDialect,
    parse_count_tokens,
    parse_messages,
)
from simulator.config import SimConfig
from simulator.openai_api import CHAT_COMPLETIONS_PATH, OpenAIDialect, parse_chat_completion
from simulator.pipeline import Call, Dialect, SimState, handle_call

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8900
MAX_BODY_BYTES = 32 * 1024 * 1024  #: largest request body accepted (Anthropic allows 32 MB)
#: s in-flight requests (a hanging "timeout" fault, say) get at shutdown before being cancelled
SHUTDOWN_TIMEOUT_S = 1.0

STATE_KEY = web.AppKey("simulator_state", SimState)


def create_app(config: SimConfig | None = None) -> web.Application:
    """The simulator application for `config` (defaults: no limits, no faults)."""
    state = SimState(config if config is not None else SimConfig())
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[STATE_KEY] = state
    anthropic, openai = AnthropicDialect(), OpenAIDialect()
    _add_call(app, state, anthropic, MESSAGES_PATH, parse_messages)
    _add_call(app, state, anthropic, COUNT_TOKENS_PATH, parse_count_tokens, metered=False)
    _add_call(app, state, openai, CHAT_COMPLETIONS_PATH, parse_chat_completion)
    add_admin_routes(app, state)

    async def log_lifecycle(app: web.Application) -> AsyncIterator[None]:
        await state.log.start()
        yield
        await state.log.stop()

    app.cleanup_ctx.append(log_lifecycle)
    return app


def _add_call(
    app: web.Application,
    state: SimState,
    dialect: Dialect,
    path: str,
    parse: Callable[[dict[str, Any]], Call],
    *,
    metered: bool = True,
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return await handle_call(state, dialect, request, parse, metered=metered)

    app.router.add_post(path, handler)


async def start_server(
    config: SimConfig, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT
) -> tuple[web.AppRunner, int]:
    """Start serving `config` on host:port in the running loop; port 0 picks a free one."""
    runner = web.AppRunner(create_app(config), access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    bound_port = port
    for address in runner.addresses:
        if isinstance(address, tuple):
            bound_port = int(address[1])
            break
    return runner, bound_port


def serve(config: SimConfig, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve `config` on host:port until SIGINT or SIGTERM (blocking)."""
    asyncio.run(_serve_until_signal(config, host, port))


async def _serve_until_signal(config: SimConfig, host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner, bound_port = await start_server(config, host, port)
    print(f"sluice simulator listening on http://{host}:{bound_port}", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
