"""``localrun verify [PATH]``: check every record's checksum, every media file's hash and every
run file's (files/, against files.json)."""

from __future__ import annotations

import json
import sys

import click

from localrun.errors import Error
from localrun.sync import find_runs
from localrun.sync.remote_view import is_url
from localrun.sync.verify import verify_run

from .jsontext import deep_values


@click.command()
@click.argument("path", default=None, required=False, metavar="[PATH]")
@click.option("--json", "as_json", is_flag=True, help='Print a JSON object: {"ok", "runs": [...]}.')
def verify(path: str | None, as_json: bool) -> None:
    """Check one run or a folder of runs: exit 0 when sound, 1 with a line per damaged record or file.

    PATH is a run's folder, a folder of runs, or a run id (or the start of one) in the runs
    root ($LOCALRUN_DIR, else ./runs; the default). A torn tail (the writer was killed
    mid-record) is the normal end of a crashed run and is not damage; it is mentioned, not
    counted.
    """
    if path is not None and is_url(path):
        raise Error(
            f"verify reads run directories on this machine, and {path} is a URL. Verify the run "
            "where it was recorded (localrun verify RUN_FOLDER); a server checks every row and "
            "media file as it stores it, and `localrun show URL` reads what it holds"
        )
    with deep_values():
        reports = [verify_run(p) for p in find_runs(path)]
    ok = all(r.ok for r in reports)
    if as_json:
        click.echo(json.dumps({"ok": ok, "runs": [r.to_json() for r in reports]}, indent=1))
    else:
        for r in reports:
            for p in r.problems:
                click.echo(p.line(r.path))
        for r in reports:
            for t in r.torn_tails:
                click.echo(
                    f"note: {r.path}/{t['segment']} ends in a torn tail of {t['size_bytes']} bytes at byte {t['offset']} (a writer killed mid-record; not damage)",
                    err=True,
                )
        bad = sum(len(r.problems) for r in reports)
        records = sum(r.records for r in reports)
        files = sum(r.media_files for r in reports)
        run_files = sum(r.run_files for r in reports)
        saved = f", {run_files} run files" if run_files else ""
        summary = f"{len(reports)} run(s), {records} records, {files} media files{saved}: "
        click.echo(summary + ("sound" if ok else f"{bad} damaged"), err=True)
    if not ok:
        sys.exit(1)
