"""``python -m tradehive``: the ``tradehive`` command."""

from tradehive.cli import main

main()
