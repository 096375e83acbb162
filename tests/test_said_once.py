"""Each name the formats and the protocol give is defined in one module, which the rest import.

The media folder (``localrun.blobs``), what a sha256 looks like and the walk that finds media
references (``localrun.mediarefs``), write-then-rename and fsync (``localrun.durable``), and the
API's paths, content types and headers (``localrun.sync.protocol``). This reads the source of
every package for literals and calls that would define one of them a second time.
"""

from __future__ import annotations

import ast
import os

import pytest

from .conftest import REPO

PACKAGES = ("localrun", "sync", "server", "viewer", "cli")


def _sources():
    for package in PACKAGES:
        for folder, dirs, files in os.walk(os.path.join(REPO, package)):
            dirs[:] = [d for d in dirs if d not in ("frontend", "static", "__pycache__")]
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    yield os.path.relpath(path, REPO), path


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _strings() -> list[tuple[str, str]]:
    """``(module path, text)`` of every string literal outside docstrings, f-strings' pieces
    included."""
    found = []
    for rel, path in _sources():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        skip = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and type(node.value) is str and id(node) not in skip:
                found.append((rel, node.value))
    return found


def _calls() -> list[tuple[str, str]]:
    """``(module path, dotted name)`` of every call of a name like ``os.replace``."""
    found = []
    for rel, path in _sources():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if isinstance(node.func.value, ast.Name):
                    found.append((rel, f"{node.func.value.id}.{node.func.attr}"))
    return found


STRINGS = _strings()


@pytest.mark.parametrize(
    ("text", "home"),
    [
        ("/api/v1", "sync/protocol.py"),
        ("application/msgpack", "sync/protocol.py"),
        ("localrun-incarnation", "sync/protocol.py"),
        ("/runs/{project}/{run_id}", "sync/protocol.py"),
        ("syncing", "sync/protocol.py"),
        (".tmp-", "localrun/durable.py"),
    ],
)
def test_a_protocol_or_format_name_is_written_in_one_module(text, home):
    where = {rel for rel, s in STRINGS if s.lower().startswith(text)}
    assert where == {home}


def test_the_media_folder_is_named_in_one_module():
    # "media" as a word elsewhere is fine (a table's title, the base class's _type); as a
    # folder or the start of a path, only blobs.py names it. The viewer's index has a column
    # called "media" (counts of media values per key), which is not the folder.
    where = {rel for rel, s in STRINGS if s.startswith("media/") or s == "media"}
    allowed = {"localrun/blobs.py", "localrun/media/base.py", "cli/show.py", "viewer/columns.py"}
    assert where <= allowed
    joins = []
    for rel, path in _sources():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and any(
                isinstance(a, ast.Constant) and a.value in ("media", "media/") for a in node.args
            ):
                joins.append(rel)
    assert joins == []


def test_a_sha256_pattern_is_written_in_one_module():
    where = {rel for rel, s in STRINGS if "{64}" in s}
    assert where == {"localrun/mediarefs.py"}


def test_files_are_renamed_into_place_and_fsynced_by_one_module():
    allowed = {
        "localrun/durable.py",
        # The segment writer fsyncs the segment it holds open (its own file descriptor).
        "localrun/record/segment.py",
        # A new run's lock is renamed into place already locked (rundir.Lock.new).
        "localrun/rundir.py",
    }
    for rel, call in _calls():
        if call in ("os.replace", "os.fsync", "tempfile.mkstemp", "os.rename"):
            assert rel in allowed, f"{rel} calls {call}: use localrun.durable"
