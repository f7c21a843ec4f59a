"""Execution: the engine (risk -> venue -> tracker -> portfolio -> brackets) and its durable journal."""

from marketcore.execution.engine import COUNTS, Ack, Difference, ExecutionEngine
from marketcore.execution.journal import Journal, JournalError, SyncPolicy

__all__ = ["COUNTS", "Ack", "Difference", "ExecutionEngine", "Journal", "JournalError", "SyncPolicy"]
