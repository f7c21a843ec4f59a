"""Tradehive feeder role."""
