"""Structured log lines: one event name plus key=value fields, never secrets or whole prompts."""

from __future__ import annotations

import logging
from typing import Any


def _format(value: Any) -> str:
    text = str(value)
    return f'"{text}"' if (" " in text or not text) else text


def log_event(
    logger: logging.Logger,
    event: str,
    *,
    level: int = logging.INFO,
    exc_info: bool = False,
    **fields: Any,
) -> None:
    """Log ``event`` with its fields, e.g. ``chunk_done batch=… jobs=50 succeeded=50``."""
    if logger.isEnabledFor(level):
        parts = " ".join(f"{key}={_format(value)}" for key, value in fields.items())
        logger.log(
            level,
            "%s %s",
            event,
            parts,
            exc_info=exc_info,
            extra={"event": event, "fields": fields},
        )
