"""The switch for role metrics: ``TRADEHIVE_METRICS=off`` (or 0/false/no) makes every role histogram a no-op and
exports role families with no samples (the families stay registered, so ``/metrics`` keeps its shape). Used to
measure what the instrumentation costs (``bench/metrics_overhead.py``); agentcore's built-in counters are not
affected. The families themselves live in :mod:`tradehive.metrics`.
"""

from __future__ import annotations

import os
from typing import Final

ENV_SWITCH: Final = "TRADEHIVE_METRICS"
_OFF: Final = frozenset({"0", "off", "false", "no"})


def metrics_enabled() -> bool:
    """False when ``TRADEHIVE_METRICS`` is ``off`` (or 0/false/no); read when an agent defines its metrics."""
    return os.environ.get(ENV_SWITCH, "on").strip().lower() not in _OFF


__all__ = ["ENV_SWITCH", "metrics_enabled"]
