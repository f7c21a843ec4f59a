"""Runs ``netns/`` (the FIX adapter against QuickFIX's compiled executor and ordermatch, the FIX market-data
acceptor and the platform end to end) inside a fresh network namespace with only loopback up.

The counterparties are built once from Debian's libquickfix-doc sources and cached (``~/.cache/tradehive/fix``);
``.ci/run`` installs libquickfix-dev, libquickfix-doc and g++ when it runs as root. Skipped, with the reason, only
where those packages or a network namespace cannot exist.
"""

from __future__ import annotations

import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

HERE = Path(__file__).parent
ROOT = HERE.parents[2]


def test_fix_suite_in_network_namespace(tmp_path: Path) -> None:
    from tradehive_fix.testing import counterparties, netns

    try:
        counterparties.build("executor")
        counterparties.build("ordermatch")
    except counterparties.CounterpartyUnavailable as exc:
        pytest.skip(f"QuickFIX counterparties cannot be built here: {exc}")
    report = tmp_path / "junit.xml"
    argv = [sys.executable, "-m", "pytest", str(HERE / "netns"), "-q", "-p", "no:cacheprovider",
            f"--junitxml={report}", "--timeout=120", "-x"]  # fmt: skip
    try:
        proc = netns.run_isolated(argv, dict(os.environ), timeout=540, cwd=str(ROOT))
    except netns.NetnsUnavailable as exc:
        pytest.skip(str(exc))
    print(proc.stdout[-20000:])
    assert report.exists(), f"inner pytest produced no report:\n{proc.stdout[-5000:]}\n{proc.stderr[-5000:]}"
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    ran = int(suite.get("tests", 0))
    failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    assert ran >= 10, f"only {ran} FIX tests ran:\n{proc.stdout[-5000:]}"
    assert proc.returncode == 0 and failed == 0, f"{failed} FIX tests failed:\n{proc.stdout[-15000:]}"
