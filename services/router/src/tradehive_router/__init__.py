"""Tradehive router role."""
