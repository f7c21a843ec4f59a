"""Tradehive name server role: agentcore's Pyro5 name server, configured from the environment."""
