"""Tradehive brain role."""
