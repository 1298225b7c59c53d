"""The layers of DESIGN.md hold: flows, storage and matching know no platform.

Everything under handlers/ (the conversation and its core), storage/ and matching/ is
read for imports; none may name python-telegram-bot, a platform's SDK, a channel or the
assembly. A new platform is a package under channels/, and no flow changes for it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "handlers": ("telegram", "lark_oapi", "dingtalk_stream", "wechatpy", "channels", "bot"),
    "storage": ("telegram", "channels", "bot", "handlers", "matching"),
    "matching": ("telegram", "channels", "bot", "handlers", "storage"),
    "channels": ("bot",),
}


def imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer: str) -> None:
    found = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        for name in imported(path):
            top = name.split(".")[0]
            if top in FORBIDDEN[layer]:
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    assert found == []


def test_the_check_sees_an_import_when_there_is_one(tmp_path: Path) -> None:
    module = tmp_path / "flow.py"
    module.write_text("from telegram import Update\nimport channels.telegram\n")
    assert imported(module) == {"telegram", "channels.telegram"}
