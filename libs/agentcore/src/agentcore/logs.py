"""structlog set-up: JSON lines off a TTY, a readable console on one; agent name and role bound."""

from __future__ import annotations

import logging
import sys

import structlog


def configure(level: str = "info", fmt: str = "auto") -> None:
    """Configure structlog for this process (one agent per process, so global configuration is fine)."""
    lvl = logging.getLevelName(level.upper())
    if not isinstance(lvl, int):
        lvl = logging.INFO
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: list[structlog.types.Processor] = (
        [
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False, max_frames=20)
            ),
            structlog.processors.JSONRenderer(),
        ]
        if use_json
        else [structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)]
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


def bind_agent(name: str, role: str) -> None:
    """Every log line of this process carries the agent's name and role from now on."""
    structlog.contextvars.bind_contextvars(agent=name, role=role)


def get(name: str = "agentcore") -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
