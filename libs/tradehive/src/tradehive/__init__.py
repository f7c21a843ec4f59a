"""Tradehive: the protocol between the trading roles and the ``tradehive`` command."""
