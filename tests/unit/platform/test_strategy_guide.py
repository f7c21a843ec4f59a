"""docs/strategies.md and examples/bollinger_rsi.py stay one thing: every Python block of the guide is a piece of
the example file (except the one marked as not in it), the guide is in the docs' navigation, and the commands it
gives name the example as the CLI loads it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
GUIDE = ROOT / "docs" / "strategies.md"
EXAMPLE = ROOT / "examples" / "bollinger_rsi.py"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", GUIDE.read_text(), flags=re.S)


def test_every_python_block_of_the_guide_is_in_the_example() -> None:
    source = EXAMPLE.read_text()
    blocks = [b for b in _blocks("python") if "(not in the example)" not in b]
    assert len(blocks) >= 8
    for block in blocks:
        assert block in source, f"the guide's block is not in {EXAMPLE.name}:\n{block}"


def test_guide_is_in_the_nav_and_names_the_example_as_the_cli_loads_it() -> None:
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]
    assert {"Writing a strategy": "strategies.md"} in next(
        v for d in nav for k, v in d.items() if k == "Guides"
    )
    from tradehive.loader import load_strategy_class

    refs = set(re.findall(r"examples/[\w/]+\.py:\w+", GUIDE.read_text()))
    assert refs == {"examples/bollinger_rsi.py:BollingerRsi"}
    assert load_strategy_class(f"{ROOT}/{refs.pop()}").name == "bollinger_rsi"
    compose = yaml.safe_load(_blocks("yaml")[0])
    on_disk = yaml.safe_load((ROOT / "deploy" / "docker-compose.strategy.yml").read_text())
    assert compose == on_disk  # the snippet shown is the override file
