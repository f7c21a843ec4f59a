"""``python -m agentcore``: the ``agentcore`` command."""

from agentcore.cli import main

main()
