"""Tradehive recorder role."""
