"""Test infrastructure for the FIX adapter: the QuickFIX example counterparties (built from Debian's
libquickfix-doc sources, cached), a loopback-only network namespace runner, a TCP cutter between the adapter and
a counterparty, and a FIX market-data acceptor streaming recorded quotes. Not imported by the adapter itself."""
