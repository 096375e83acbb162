"""The layers: which package may import which, read from every module's source.

Imports flow one way: cli -> server -> sync -> localrun, and cli -> viewer -> localrun (server
may import viewer). Every import counts: at the top, inside a function (the lazy ones), under
``if TYPE_CHECKING``, relative ones resolved, and a first-party module named as a string (the
lazy-import tables of ``localrun/__init__.py``). The recorder (``localrun/``, the part a
training process imports) needs nothing but the standard library and the packages pinned in
``RECORDER_NEEDS``; the optional ones only inside the function that uses them.
"""

from __future__ import annotations

import ast
import os
import sys

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# folder -> the package it installs as (pyproject.toml's package-dir; checked below)
FOLDERS = {
    "localrun": "localrun",
    "sync": "localrun.sync",
    "server": "localrun.server",
    "viewer": "localrun.viewer",
    "cli": "localrun.cli",
}
LAYERS = ("localrun.sync", "localrun.server", "localrun.viewer", "localrun.cli")
# layer -> the layers it must not import (the recorder, "localrun", is every module of the
# localrun/ folder itself)
FORBIDDEN = {
    "localrun": LAYERS,
    "localrun.sync": ("localrun.server", "localrun.viewer", "localrun.cli"),
    "localrun.server": ("localrun.cli",),
    "localrun.viewer": ("localrun.server", "localrun.cli"),
    "localrun.cli": (),
}
# What the recorder imports besides the standard library: the core dependencies, imported at
# the top of a module or in a function ...
RECORDER_NEEDS = {"numpy", "msgpack", "msgspec", "PIL"}
# ... and the optional ones, each only inside the function of the one module that needs it:
# a video's encoder (pip install localrun[video]), watch() of a torch model, and
# Molecule.from_smiles / from_rdkit.
RECORDER_OPTIONAL = {
    "av": {"localrun.media.video"},
    "torch": {"localrun.watcher"},
    "rdkit": {"localrun.media.molecule"},
    # A matplotlib figure given to Plotly, a Bokeh document, a Table made from a DataFrame.
    "plotly": {"localrun.media.plotly"},
    "bokeh": {"localrun.media.bokeh"},
    "pandas": {"localrun.media.table"},
}
# The one way up, on purpose: ``localrun.Api`` (wandb's public reading API, for analysis
# scripts) is the reading side's, and the package's lazy table names it so that
# ``import localrun as wandb; wandb.Api()`` works. Nothing imports it until a script asks for
# the name; the recorder's own modules never do.
LAZY_EXCEPTIONS = {("localrun", "localrun.sync.api")}


def modules() -> dict[str, tuple[str, bool]]:
    """Every first-party module: name -> (path from the repository's root, is a package)."""
    out = {}
    for folder, package in FOLDERS.items():
        for root, dirs, files in os.walk(os.path.join(ROOT, folder)):
            dirs[:] = [d for d in dirs if os.path.exists(os.path.join(root, d, "__init__.py"))]
            rel = os.path.relpath(root, os.path.join(ROOT, folder))
            parts = [] if rel == "." else rel.split(os.sep)
            for name in files:
                if not name.endswith(".py"):
                    continue
                is_package = name == "__init__.py"
                module = ".".join([package, *parts] + ([] if is_package else [name[:-3]]))
                out[module] = (os.path.relpath(os.path.join(root, name), ROOT), is_package)
    return out


class Import:
    def __init__(self, target: str, line: int, lazy: bool, type_only: bool):
        self.target = target  # the module imported, absolute
        self.line = line
        self.lazy = lazy  # inside a function
        self.type_only = type_only  # under ``if TYPE_CHECKING``


def imports(source: str, module: str, is_package: bool, known: set[str]) -> list[Import]:
    """The modules ``source`` (module ``module``) imports, relative imports made absolute.

    ``from a import b`` imports ``a``, and ``a.b`` too when that is a module in ``known``; a
    string constant equal to a module in ``known`` counts as an import of it.
    """
    package = module if is_package else module.rpartition(".")[0]
    out: list[Import] = []

    def visit(node: ast.AST, lazy: bool, type_only: bool) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                out.append(Import(alias.name, node.lineno, lazy, type_only))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.append(Import(target, node.lineno, lazy, type_only))
            for alias in node.names:
                if f"{target}.{alias.name}" in known:
                    out.append(Import(f"{target}.{alias.name}", node.lineno, lazy, type_only))
        elif isinstance(node, ast.Constant) and type(node.value) is str and node.value in known:
            out.append(Import(node.value, node.lineno, lazy, type_only))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            lazy = True
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, lazy, True)
            for child in node.orelse:
                visit(child, lazy, type_only)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, lazy, type_only)

    visit(ast.parse(source), False, False)
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def layer_of(module: str) -> str:
    for layer in LAYERS:
        if module == layer or module.startswith(layer + "."):
            return layer
    return "localrun"


def problems(module: str, found: list[Import]) -> list[str]:
    """What is wrong with ``module``'s imports, one line each, naming the module and import."""
    layer = layer_of(module)
    out = []
    for imp in found:
        where = f"{module} line {imp.line} imports {imp.target}"
        how = " (in a function)" if imp.lazy else ""
        how += " (under TYPE_CHECKING)" if imp.type_only else ""
        top = imp.target.split(".")[0]
        if top == "localrun":
            if (module, imp.target) in LAZY_EXCEPTIONS:
                continue
            if layer_of(imp.target) in FORBIDDEN[layer]:
                out.append(
                    f"{where}{how}: {layer} must not import {layer_of(imp.target)} "
                    f"(the layers: cli -> server -> sync -> localrun, cli -> viewer -> localrun)"
                )
            continue
        if layer != "localrun" or top in sys.stdlib_module_names or top in RECORDER_NEEDS:
            continue
        allowed = RECORDER_OPTIONAL.get(top)
        if allowed is None:
            out.append(
                f"{where}{how}: the recorder needs only the standard library and "
                f"{', '.join(sorted(RECORDER_NEEDS | set(RECORDER_OPTIONAL)))}; a new need goes "
                "into RECORDER_NEEDS here (and pyproject.toml's dependencies) on purpose"
            )
        elif module not in allowed or not imp.lazy:
            out.append(
                f"{where}{how}: {top} is optional; only {', '.join(sorted(allowed))} imports it, "
                "inside the function that needs it"
            )
    return out


def all_problems() -> list[str]:
    known = modules()
    names = set(known)
    out = []
    for module, (path, is_package) in sorted(known.items()):
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            found = imports(f.read(), module, is_package, names)
        out += [f"{path}: {p}" for p in problems(module, found)]
    return out


def test_the_folders_are_the_packages_pyproject_installs():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        package_dir = tomllib.load(f)["tool"]["setuptools"]["package-dir"]
    assert {package: folder for folder, package in FOLDERS.items()} == package_dir


def test_every_import_keeps_to_the_layers():
    known = modules()
    assert len(known) > 50 and "localrun.sync.push" in known and "localrun.cli" in known
    found = all_problems()
    assert not found, "imports across the layers:\n" + "\n".join(found)


def test_the_recorder_imports_what_is_pinned_and_nothing_else():
    # Each pinned need is still imported by some module of the recorder: the list says what is
    # true, not what once was.
    known = modules()
    names = set(known)
    used = set()
    for module, (path, is_package) in known.items():
        if layer_of(module) == "localrun":
            with open(os.path.join(ROOT, path), encoding="utf-8") as f:
                used |= {
                    i.target.split(".")[0] for i in imports(f.read(), module, is_package, names)
                }
    assert RECORDER_NEEDS | set(RECORDER_OPTIONAL) <= used


def _problems_of(source: str, module: str, is_package: bool = False) -> list[str]:
    known = set(modules())
    return problems(module, imports(source, module, is_package, known))


def test_a_violation_is_found_wherever_the_import_is():
    # In a function, under TYPE_CHECKING, relative, or as a name taken from a package.
    cases = [
        ("import localrun.server.app\n", "localrun.sync.push", "localrun.server.app"),
        ("def f():\n    from ..cli import main\n", "localrun.server.app", "localrun.cli"),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .sync import push\n",
            "localrun.run",
            "localrun.sync.push",
        ),
        ("from localrun import viewer\n", "localrun.values", "localrun.viewer"),
        ("from .. import server\n", "localrun.viewer.api", "localrun.server"),
        ('_LAZY = {"x": "localrun.cli.show"}\n', "localrun", "localrun.cli.show"),
    ]
    for source, module, target in cases:
        found = _problems_of(source, module, is_package=module == "localrun")
        assert any(p.startswith(f"{module} line") and f"imports {target}" in p for p in found), (
            source,
            found,
        )
    assert _problems_of("import localrun.sync\n", "localrun.server.app") == []
    # The one exception is that name, in that table, of that module.
    api = '_LAZY = {"Api": "localrun.sync.api"}\n'
    assert _problems_of(api, "localrun", is_package=True) == []
    assert _problems_of(api, "localrun.session") != []
    assert _problems_of("from ..viewer import api\n", "localrun.server.app") == []


def test_the_recorder_takes_no_new_package_and_optional_ones_only_lazily():
    assert "needs only the standard library" in _problems_of("import httpx\n", "localrun.run")[0]
    assert "is optional" in _problems_of("import torch\n", "localrun.watcher")[0]
    assert "is optional" in _problems_of("def f():\n    import av\n", "localrun.values")[0]
    assert _problems_of("def f():\n    import torch\n", "localrun.watcher") == []
    assert _problems_of("import numpy\nimport json\n", "localrun.values") == []
    # The other layers may use any package.
    assert _problems_of("import httpx\n", "localrun.sync.remote") == []
