"""FIX adapter."""
