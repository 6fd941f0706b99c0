"""STYLE.md: the protocol package is plain Python; nothing there may import Django or DRF."""

import ast
from pathlib import Path

import pytest

PROTOCOL = Path(__file__).resolve().parents[2] / "tokens" / "protocol"


@pytest.mark.parametrize("module", sorted(PROTOCOL.glob("*.py")), ids=lambda path: path.name)
def test_protocol_module_imports_no_framework(module):
    tree = ast.parse(module.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert not imported & {"django", "rest_framework"}, f"{module.name} imports {imported}"
