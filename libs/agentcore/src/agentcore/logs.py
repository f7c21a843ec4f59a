"""structlog set-up: JSON lines off a TTY, a readable console on one; agent name and role bound.

Libraries that log through the standard library (Pyro5's ``Pyro5.*`` loggers, ``warnings``) are rendered by
the same processors through ``structlog.stdlib.ProcessorFormatter``, so every line a process writes has one
format: a JSON object per line off a TTY.
"""

from __future__ import annotations

import logging
import sys

import structlog

# Pyro5 logs every connection and call at DEBUG/INFO; its warnings and errors (a failed handshake, an exception
# in a request loop) are what an operator needs, so its loggers never go below WARNING.
PYRO_MIN_LEVEL = logging.WARNING
_HANDLER_NAME = "agentcore.structlog"


def configure(level: str = "info", fmt: str = "auto") -> None:
    """Configure structlog and stdlib logging for this process (one agent per process: global is fine)."""
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
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, *renderer],
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    _route_stdlib_logging(lvl, shared, renderer)


def _route_stdlib_logging(
    lvl: int, shared: list[structlog.types.Processor], renderer: list[structlog.types.Processor]
) -> None:
    """Render stdlib log records (Pyro5, warnings) with structlog's processors, on stderr."""
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, structlog.stdlib.ExtraAdder(), *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    # Replace the handler of an earlier configure(); others (a test's log capture) stay.
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(lvl)
    # Pyro5 mutes its loggers (level 9999) unless PYRO_LOGLEVEL is set: we set their level ourselves.
    logging.getLogger("Pyro5").setLevel(max(lvl, PYRO_MIN_LEVEL))
    logging.captureWarnings(True)


def bind_agent(name: str, role: str) -> None:
    """Every log line of this process carries the agent's name and role from now on."""
    structlog.contextvars.bind_contextvars(agent=name, role=role)


def get(name: str = "agentcore") -> structlog.stdlib.BoundLogger:
    log: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return log
