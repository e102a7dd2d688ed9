"""Admin endpoints under `/_sim/`, part of neither provider API.

- `GET /_sim/log`: the request records, oldest first (see `records`).
- `GET /_sim/stats`: counts by status, endpoint and fault.
- `GET /_sim/config`: the live config.
- `POST /_sim/config`: merge a JSON object into the live config (e.g. `{"rpm": 5}`); answers
  the new config, or 400 naming the bad field.
- `POST /_sim/reset`: clear the log, the limiter's windows, and restart the fault sequences.
"""

from __future__ import annotations

import orjson
from aiohttp import web

from simulator.config import merge_config
from simulator.pipeline import SimState

ADMIN_PREFIX = "/_sim"


def add_admin_routes(app: web.Application, state: SimState) -> None:
    """Register the `/_sim/` endpoints for `state` on `app`."""

    async def get_log(request: web.Request) -> web.Response:
        return _json(state.log.records())

    async def get_stats(request: web.Request) -> web.Response:
        return _json(state.log.stats())

    async def get_config(request: web.Request) -> web.Response:
        return _json(state.config.to_dict())

    async def post_config(request: web.Request) -> web.Response:
        try:
            changes = orjson.loads(await request.read())
            if not isinstance(changes, dict):
                raise ValueError("the body must be a JSON object of config fields")
            state.replace_config(merge_config(state.config, changes))
        except (ValueError, TypeError) as err:
            return _json({"error": str(err)}, status=400)
        return _json(state.config.to_dict())

    async def post_reset(request: web.Request) -> web.Response:
        state.reset()
        return _json({"reset": True})

    app.router.add_get(f"{ADMIN_PREFIX}/log", get_log)
    app.router.add_get(f"{ADMIN_PREFIX}/stats", get_stats)
    app.router.add_get(f"{ADMIN_PREFIX}/config", get_config)
    app.router.add_post(f"{ADMIN_PREFIX}/config", post_config)
    app.router.add_post(f"{ADMIN_PREFIX}/reset", post_reset)


def _json(data: object, *, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")
