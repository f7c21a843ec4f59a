"""The router's engines: per-symbol books, tick validation, live and history ingestion, stream recovery."""
