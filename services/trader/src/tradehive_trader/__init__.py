"""Tradehive trader role."""
