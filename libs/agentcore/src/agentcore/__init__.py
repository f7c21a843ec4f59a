"""agentcore: a general-purpose multi-agent system on Pyro5 and ZeroMQ."""
