"""What the server accepts as a name: run ids, projects, blob hashes, media paths, steps.

Everything a client names is checked here before it reaches storage, so nothing a client sends
can become a file path outside the data folder, or a key storage was not built for.
"""

from __future__ import annotations

import re

# The recorder's own rules (localrun.contract), so every run id and project the recorder
# accepts is accepted here. Projects never become file names on the server.
from localrun.contract import project_problem, run_id_problem
from localrun.mediarefs import SHA256
from localrun.runfiles import check_file_path

#: What tells one run from another with the same project and id (docs/protocol.md).
INCARNATION = re.compile(r"[A-Za-z0-9_-]{1,100}")
MAX_STEP = 2**63 - 1


class BadInput(ValueError):
    """A request the server refuses with 400 (or the status given); nothing is stored."""

    def __init__(self, message: str, status: int = 400, **extra):
        self.status = status
        self.extra = extra  # more fields for the JSON error body
        super().__init__(message)


def check_run_id(run_id: str) -> str:
    problem = run_id_problem(run_id)
    if problem is not None:
        raise BadInput(f"{problem}. Sync the run under another id (localrun sync --as NEWID)")
    return run_id


def check_project(project: str) -> str:
    problem = project_problem(project)
    if problem is not None:
        raise BadInput(
            f"{problem}. Sync the run under another project (localrun sync --project NEWNAME)"
        )
    return project


def check_incarnation(value: object) -> str:
    """A run's incarnation id, as a client sends it: 1-100 of ``A-Z a-z 0-9 _ -``."""
    if type(value) is not str or not INCARNATION.fullmatch(value):
        raise BadInput(
            f"incarnation {str(value)[:120]!r} is not allowed: use 1-100 letters, digits, '_' or '-' "
            "(localrun sync sends the run's own, from its run.json)"
        )
    return value


def check_sha256(sha: object) -> str:
    if type(sha) is not str or not SHA256.fullmatch(sha):
        raise BadInput(f"{sha!r} is not a sha256: expected 64 lowercase hex digits")
    return sha


def check_media_path(path: object) -> str:
    """A media file reference inside a row: relative, inside the run, no tricks."""
    if (
        type(path) is not str
        or not path
        or len(path) > 1024
        or path.startswith("/")
        or "\\" in path
        or "\x00" in path
        or any(part in ("", ".", "..") for part in path.split("/"))
    ):
        raise BadInput(
            f"media path {path!r} is not allowed: it must be relative to the run, like 'media/<sha256>.png'"
        )
    return path


def check_run_file(entry: object) -> tuple[str, str, int]:
    """One entry of a run's list of files, ``{"path", "sha256", "size"}``: its path by the
    recorder's rule for run files (relative, no ``..``, ``.`` or empty part, no backslash or
    NUL), a sha256, and a size (a non-negative int)."""
    if type(entry) is not dict:
        raise BadInput(f'each run file must be {{"path", "sha256", "size"}}, not {str(entry)[:80]}')
    path = entry.get("path")
    problem = check_file_path(path)
    if problem is not None:
        raise BadInput(problem)
    assert isinstance(path, str)  # check_file_path passes a non-empty str only
    size = entry.get("size")
    if type(size) is not int or size < 0:
        raise BadInput(f"run file {path!r}: size must be a non-negative int, not {size!r:.40}")
    return path, check_sha256(entry.get("sha256")), size
