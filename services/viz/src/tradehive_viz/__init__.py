"""Tradehive chart agent."""
