"""Reading a run back the way a user would: ``localrun export`` (click's CliRunner on the real
command), then opening the files it names with independent decoders.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from click.testing import CliRunner

from localrun.cli import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "media"


def export(run_or_path) -> list[dict]:
    """The history rows of a run, through ``localrun export`` (the run is finished first)."""
    path = run_or_path if isinstance(run_or_path, (str, os.PathLike)) else run_or_path.dir
    if not isinstance(run_or_path, (str, os.PathLike)):
        run_or_path.finish(quiet=True)
    result = CliRunner().invoke(main, ["export", str(path)])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def show_json(run_or_path) -> dict:
    path = run_or_path if isinstance(run_or_path, (str, os.PathLike)) else run_or_path.dir
    result = CliRunner().invoke(main, ["show", "--json", str(path)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def last(run, key: str):
    """The last value logged under ``key``, read back through export."""
    values = [row[key] for row in export(run) if key in row]
    assert values, f"{key!r} was not logged"
    return values[-1]


def file_of(run_or_path, ref) -> Path:
    """The file a value refers to: ``ref`` is a value with ``path`` or a path string.

    Checks the promises every reference makes: relative to the run directory, inside it, and
    (when the value says) of the given size and sha256.
    """
    base = Path(run_or_path if isinstance(run_or_path, (str, os.PathLike)) else run_or_path.dir)
    rel = ref["path"] if isinstance(ref, dict) else ref
    assert not os.path.isabs(rel) and ".." not in Path(rel).parts, rel
    path = base / rel
    assert path.is_file(), path
    if isinstance(ref, dict):
        data = path.read_bytes()
        assert len(data) == ref["size"]
        assert hashlib.sha256(data).hexdigest() == ref["sha256"]
        assert path.name.startswith(ref["sha256"])
    return path


def media_files(run) -> list[Path]:
    return sorted(p for p in (Path(run.dir) / "media").iterdir() if not p.name.startswith("."))
