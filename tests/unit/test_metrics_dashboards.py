"""Grafana dashboards as code: the committed JSON is what the generator writes, and is structurally sound."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import yaml

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_dashboards", GRAFANA / "build_dashboards.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_committed_dashboards_are_up_to_date() -> None:
    mod = generator()
    boards = mod.dashboards()
    assert set(boards) == {p.name for p in (GRAFANA / "dashboards").glob("*.json")}
    for name, board in boards.items():
        assert (GRAFANA / "dashboards" / name).read_text() == mod.render(board), (
            f"{name}: run build_dashboards.py"
        )


def test_dashboards_are_structurally_sound() -> None:
    ds = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    uid = ds["datasources"][0]["uid"]
    uids = set()
    for path in sorted((GRAFANA / "dashboards").glob("*.json")):
        board = json.loads(path.read_text())
        assert board["uid"] not in uids and len(board["uid"]) <= 40
        uids.add(board["uid"])
        assert {v["name"] for v in board["templating"]["list"]} == {"agent", "symbol"}
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)) and board["panels"]
        cells: set[tuple[int, int]] = set()
        for panel in board["panels"]:
            assert panel["datasource"]["uid"] == uid and panel["targets"], panel["title"]
            g = panel["gridPos"]
            assert 0 <= g["x"] and g["x"] + g["w"] <= 24
            area = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
            assert not area & cells, f"{path.name}: {panel['title']} overlaps another panel"
            cells |= area
            for t in panel["targets"]:
                assert t["datasource"]["uid"] == uid and t["expr"].strip() and t["refId"]
    assert len(uids) == 4


def test_expressions_substitute_every_variable() -> None:
    exprs = generator().expressions()
    assert len(exprs) > 30
    assert all("$" not in e for _w, e in exprs)
