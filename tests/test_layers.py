"""The layering rule: the shared layer (lenet_repro) never imports the packages above it, and the model
packages never import the report generator (which holds the `lenet` dispatcher, reports/cli.py)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ABOVE = {"lenet_repro": {"lenet1998", "modern", "reports"}, "lenet1998": {"reports"}, "modern": {"reports"}}


def _imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(ABOVE))
def test_no_package_imports_a_layer_above_it(package):
    wrong = {str(p.relative_to(ROOT)): sorted(_imported_packages(p) & ABOVE[package])
             for p in sorted((ROOT / package).rglob("*.py"))}
    assert not {k: v for k, v in wrong.items() if v}


def test_the_check_sees_an_upward_import(tmp_path):
    p = tmp_path / "m.py"
    p.write_text("def f():\n    from reports.cli import main\n")
    assert _imported_packages(p) == {"reports"}
