"""The package's folders are its layers: each imports only from the layers below it, nothing imports
in a circle, the bottom layers load without torch, and functions fit on a screen."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import ROOT

PACKAGE = ROOT / "seecgnet"

# Each part of the package and its layer, from the bottom (as docs/layout.md draws them).
# A module may import from a lower layer, or from its own part of the package; never from a part
# above it, nor from another part of its own layer.
LAYERS = {
    "seecgnet.io": 0,
    "seecgnet.challenge": 0,
    "seecgnet.device": 0,
    "seecgnet.errors": -2,  # below everything: every part names its errors under its base
    # the rule for every file a command writes, below layer 0 so that io's commands use it too
    "seecgnet.destinations": -1,
    "seecgnet.interrupts": 0,
    "seecgnet.convert": 1,  # reads every format (io) and writes the challenge's, checked first
    "seecgnet.data": 1,
    "seecgnet.models": 2,
    "seecgnet.trained": 3,
    "seecgnet.inference": 4,
    "seecgnet.training": 5,
    "seecgnet.cli": 6,
    "seecgnet.crossval": 7,
    "seecgnet.mitbih": 7,
    "seecgnet.report": 7,
}
MAX_FUNCTION_LINES = 60


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _part(module: str) -> str:
    """The layer part a module belongs to: the longest prefix that LAYERS names."""
    for end in range(module.count(".") + 1, 0, -1):
        prefix = ".".join(module.split(".")[:end])
        if prefix in LAYERS:
            return prefix
    raise AssertionError(f"{module} belongs to no layer of tests/test_layout.py's LAYERS")


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) in {
        "TYPE_CHECKING",
        "typing.TYPE_CHECKING",
    }


def _imports(tree: ast.AST, modules: set[str]) -> set[str]:
    """The package's modules a module imports, at its top or inside a function; imports made only
    for type checkers are left out."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _is_type_checking_block(node):
            return
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("seecgnet"):
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("seecgnet"))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


@pytest.fixture(scope="module")
def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {_module_name(p) for p in paths}
    return {_module_name(p): _imports(ast.parse(p.read_text()), modules) for p in paths}


def test_every_module_belongs_to_a_layer(import_graph):
    for module in import_graph:
        if module != "seecgnet":
            _part(module)


def test_no_module_imports_from_a_layer_above_it_or_beside_it(import_graph):
    wrong = []
    for module, imported in import_graph.items():
        if module == "seecgnet":
            continue
        part = _part(module)
        for target in imported - {"seecgnet"}:
            target_part = _part(target)
            if target_part != part and LAYERS[target_part] >= LAYERS[part]:
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_no_import_circle(import_graph):
    state: dict[str, str] = {}
    circles = []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(import_graph.get(module, ())):
            if state.get(target) == "open":
                circles.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = "done"

    for module in sorted(import_graph):
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_the_layer_check_finds_an_import_from_above():
    modules = {"seecgnet.io.records", "seecgnet.training.loop"}
    tree = ast.parse("def f():\n    from seecgnet.training.loop import train_model\n")
    imported = _imports(tree, modules)
    assert imported == {"seecgnet.training.loop"}
    assert LAYERS[_part("seecgnet.training.loop")] > LAYERS[_part("seecgnet.io.records")]


@pytest.mark.parametrize(
    "statement",
    [
        "import seecgnet.io.records, seecgnet.io.headers, seecgnet.io.synthetic",
        "import seecgnet.challenge.classes, seecgnet.challenge.outputs, "
        "seecgnet.challenge.metrics, seecgnet.challenge.scoring",
        "import evaluate_12ECG_score",
        "import seecgnet.cli",
        "import seecgnet.destinations",
        "import seecgnet.trained.settings, seecgnet.trained.decision",
    ],
)
def test_reading_records_and_scoring_load_neither_torch_nor_training(statement):
    code = (
        f"{statement}; import sys; "
        "print('torch' in sys.modules, any(m.startswith('seecgnet.training') for m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False False"


def test_reading_a_record_loads_neither_wfdb_nor_pandas(tmp_path):
    # wfdb (and the pandas it parses headers with) is for the MIT-BIH benchmark and the tests' oracle
    code = (
        "import sys, pathlib; from seecgnet.io.synthetic import write_synthetic_record; "
        "from seecgnet.io.records import read_record; "
        f"read_record(write_synthetic_record(pathlib.Path({str(tmp_path)!r}), 'A0001')); "
        "print(sorted(m for m in ('wfdb', 'pandas', 'torch') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_every_function_of_the_package_fits_on_a_screen():
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(
                        f"{path.relative_to(ROOT)}:{node.lineno} {node.name}, {lines} lines"
                    )
    assert long == []
