"""Physics never imports learning code (STYLE habit 2): nothing under romflow/fom imports
torch.nn, torch.optim or the learning subpackages. Plain torch is allowed: the FOMs are
batched tensor code that runs on CPU and GPU (ARCHITECTURE, performance design)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import romflow

FOM_DIR = Path(romflow.__file__).resolve().parent / "fom"
FOM_FILES = sorted(FOM_DIR.rglob("*.py"))


def imported_modules(source: str, package: str) -> list[str]:
    """Absolute names of every module ``source`` (a module of ``package``) imports,
    relative imports resolved, plus ``module.name`` for every ``from module import name``."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                module = ".".join(parts + ([node.module] if node.module else []))
            names.append(module)
            names += [f"{module}.{alias.name}" for alias in node.names]
    return names


def package_of(path: Path) -> str:
    rel = path.relative_to(FOM_DIR.parent).with_suffix("").parts
    return ".".join(("romflow", *(rel if path.name == "__init__.py" else rel[:-1])))


def forbidden(names: list[str]) -> list[str]:
    under = lambda n, p: n == p or n.startswith(p + ".")  # noqa: E731
    learning = ("torch.nn", "torch.optim", "romflow.lasdi", "romflow.hybrid")
    return [n for n in names if any(under(n, p) for p in learning)]


def test_fom_files_found():
    assert FOM_DIR / "toy.py" in FOM_FILES
    assert FOM_DIR / "__init__.py" in FOM_FILES


@pytest.mark.parametrize("source", [
    "import torch.nn as nn", "from torch import nn", "from torch.optim import Adam",
    "from ..lasdi import sindy", "from romflow.hybrid import closures",
    "from romflow.lasdi.train import optimize",
    "def f():\n    from romflow import lasdi\n",
])
def test_check_detects_forbidden_imports(source):
    # the check must be able to fail: each of these is learning code
    assert forbidden(imported_modules(source, "romflow.fom"))


def test_check_allows_physics_imports():
    source = "import numpy as np\nimport torch\nfrom romflow import io\nfrom . import toy\n"
    assert forbidden(imported_modules(source, "romflow.fom")) == []


@pytest.mark.parametrize("path", FOM_FILES, ids=lambda p: p.name)
def test_fom_imports_no_learning_code(path):
    names = imported_modules(path.read_text(), package_of(path))
    assert not [n for n in names if n == "torch.nn" or n.startswith("torch.nn.")], \
        f"{path} imports torch.nn"
    assert not forbidden(names), f"{path} imports learning code: {forbidden(names)}"


def test_importing_fom_loads_no_learning_code():
    # (import torch loads torch.nn itself, so only romflow's learning packages are checked
    # at run time; the source check above covers torch.nn and torch.optim)
    code = ("import sys, romflow.fom; "
            "bad = [m for m in sys.modules if m.startswith(('romflow.lasdi', "
            "'romflow.hybrid'))]; print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, f"importing romflow.fom loaded {out.stdout} {out.stderr}"
