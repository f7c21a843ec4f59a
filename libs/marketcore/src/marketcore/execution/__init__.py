"""Execution: the engine (risk -> venue -> tracker -> portfolio -> brackets) and its durable journal."""

from marketcore.execution.engine import COUNTS, Ack, Difference, ExecutionEngine
from marketcore.execution.journal import Journal, JournalError, SyncPolicy
from marketcore.execution.sequencer import QuoteSequencer
from marketcore.execution.settings import ExecutionSettings, build_engine

__all__ = [
    "COUNTS",
    "Ack",
    "Difference",
    "ExecutionEngine",
    "ExecutionSettings",
    "Journal",
    "JournalError",
    "QuoteSequencer",
    "SyncPolicy",
    "build_engine",
]
