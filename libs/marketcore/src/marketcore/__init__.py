"""marketcore: the Tradehive domain library (no messaging here)."""
