"""The layering rule: the shared layer (lenet_repro) never imports the packages above it, and the model
packages never import the report generator (which holds the `lenet` dispatcher, reports/cli.py).

One exception, by design: the package's facade (lenet_repro/__init__.py) re-exports the public API
(`from lenet_repro import check, pretrained`) with imports inside its module `__getattr__` only, which
run on first use of a name, never when lenet_repro is imported (checked in a fresh interpreter below)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ABOVE = {"lenet_repro": {"lenet1998", "modern", "reports"}, "lenet1998": {"reports"}, "modern": {"reports"}}


FACADE = ROOT / "lenet_repro" / "__init__.py"


def _imported_packages(path: Path) -> set[str]:
    found = set()
    tree = ast.parse(path.read_text())
    if path == FACADE:  # its lazy re-exports: the body of `def __getattr__` is left out
        tree.body = [n for n in tree.body if not (isinstance(n, ast.FunctionDef) and n.name == "__getattr__")]
    for node in ast.walk(tree):
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


def test_the_facade_imports_nothing_above_until_a_name_is_used():
    import subprocess
    import sys

    code = ("import sys, lenet_repro; above = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('lenet1998', 'modern', 'reports')); assert not above, above; "
            "from lenet_repro import check, assert_consistent, pretrained, input_transform; "
            "assert check is sys.modules['reports.stats.check'].check, check; "
            "assert pretrained is sys.modules['lenet1998.pretrained'].pretrained")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    tree = ast.parse(FACADE.read_text())
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert not top  # no import at module level at all


def test_the_model_packages_import_only_torch_and_numpy():
    """Issue 19: `import lenet1998` (and modern, and their trainers) pulls in no library of the [report] extra,
    nor pandas or scipy."""
    import subprocess
    import sys

    code = ("import sys, lenet1998, modern, lenet1998.train, modern.train, lenet1998.comparison.train, hubconf; "
            "heavy = sorted(m for m in ('pandas', 'scipy', 'matplotlib', 'sklearn', 'statsmodels', 'jinja2', "
            "'tabulate', 'ray') if m in sys.modules); assert not heavy, heavy")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr


def test_a_missing_report_library_is_one_line_naming_the_extra(monkeypatch, capsys):
    import reports.cli as cli

    def missing(argv):
        raise ModuleNotFoundError("No module named 'matplotlib'", name="matplotlib.pyplot")

    monkeypatch.setattr(cli, "_dispatch", missing)
    assert cli.main(["report"]) == cli.EXIT_ERROR != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs matplotlib" in err[0] and "lenet-repro[report]" in err[0]

    def other(argv):
        raise ModuleNotFoundError("No module named 'nosuch'", name="nosuch")

    monkeypatch.setattr(cli, "_dispatch", other)
    import pytest

    with pytest.raises(ModuleNotFoundError):  # not ours to explain: a real bug stays visible
        cli.main(["report"])


# ---- reports/ by role (reports/__init__.py, issue 20) ---------------------------------------------------

REPORTS = ROOT / "reports"
# what each part of reports/ may import of reports/ (besides itself); the commands on top import anything
ROLE_IMPORTS = {
    "verdicts": set(),  # THE rules: nothing else of the report
    "stats": {"verdicts", "run.runner"},  # run.runner: the Outcome type only
    "run": {"sections.ablations", "sections.comparison"},  # what the study groups run
    "sections": {"verdicts", "stats", "run.plan", "run.runner", "render.figures", "render.latex"},
    "render.figures": set(),  # the one style: no records, no statistics
    "render.latex": {"verdicts"},
    "render.artefacts": {"sections", "stats", "render.figures", "render.latex"},  # the renderers it writes through
}


def _reports_imports(path: Path) -> set[str]:
    """The reports/ modules `path` imports (relative imports resolved), as dotted names below reports."""
    here = path.relative_to(REPORTS).with_suffix("").parts
    pkg = here[:-1] if here[-1] != "__init__" else here[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(pkg[:len(pkg) - node.level + 1])
                mod = base + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == "reports":
                mod = node.module.split(".")[1:]
            else:
                continue
            names = [mod + [a.name] for a in node.names]
            for n in names:  # `from . import fig9`: the module fig9 itself where there is one
                is_mod = (REPORTS.joinpath(*n).with_suffix(".py").exists() or REPORTS.joinpath(*n).is_dir())
                out.add(".".join(n if is_mod else mod))
    return {m for m in out if m}


def _role(dotted: str) -> str | None:
    return next((r for r in sorted(ROLE_IMPORTS, key=len, reverse=True) if dotted == r or dotted.startswith(r + ".")),
                None)


def test_each_part_of_reports_imports_only_what_its_role_allows():
    wrong = {}
    for path in sorted(REPORTS.rglob("*.py")):
        me = ".".join(path.relative_to(REPORTS).with_suffix("").parts)
        role = _role(me)
        if role is None:
            continue
        allowed = ROLE_IMPORTS[role]
        bad = sorted(m for m in _reports_imports(path)
                     if _role(m) != role and not any(m == a or m.startswith(a + ".") for a in allowed))
        if bad:
            wrong[me] = bad
    assert not wrong


def test_the_role_check_sees_a_wrong_import(tmp_path, monkeypatch):
    sections = REPORTS / "sections"
    probe = sections / "_probe_for_the_test.py"
    probe.write_text("def f():\n    from ..render import artefacts\n    from ..report import main\n")
    try:
        assert _reports_imports(probe) == {"render.artefacts", "report"}
        with pytest.raises(AssertionError):
            test_each_part_of_reports_imports_only_what_its_role_allows()
    finally:
        probe.unlink()


def test_one_file_per_figure_and_per_table():
    """Every artefact is built by its own file of reports/sections/ (Table 3's groups share theirs; Fig. 9's
    table and figure are one frame drawn twice), and every figure a section file draws is registered."""
    import functools
    import importlib
    import pkgutil

    from reports.render import artefacts

    def home(f):
        return (f.func if isinstance(f, functools.partial) else f).__module__

    homes = {a.name: home(a.make) for a in artefacts.ARTEFACTS.values()}
    assert all(h.startswith("reports.sections.") or h == "reports.stats.own_references" for h in homes.values())
    for kind in ("figure", "table"):
        mods = [homes[n] for n, a in artefacts.ARTEFACTS.items() if a.kind == kind and not n.startswith("table3-")]
        assert len(mods) == len(set(mods)), kind
    drawn = set()
    for m in pkgutil.iter_modules([str(REPORTS / "sections")]):
        mod = importlib.import_module(f"reports.sections.{m.name}")
        if callable(getattr(mod, "figure", None)) and mod.figure.__module__ == mod.__name__:
            drawn.add(mod.__name__)
    assert drawn == {homes[n] for n, a in artefacts.ARTEFACTS.items() if a.kind == "figure"}
