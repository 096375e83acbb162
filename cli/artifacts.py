"""``localrun artifacts list|show|download``: the artifacts of a runs root, or of a server."""

from __future__ import annotations

import datetime
import json
import os

import click

from localrun.rundir import runs_root
from localrun.sync.artifact_view import artifact_source, split_name

_FROM = click.option(
    "--from",
    "source",
    default=None,
    metavar="PATH|URL",
    help="The folder of runs (default: $LOCALRUN_DIR, else ./runs) or a server URL.",
)
_TOKEN = click.option(
    "--token",
    default=None,
    envvar="LOCALRUN_TOKEN",
    help="Bearer token when reading from a server [env: LOCALRUN_TOKEN].",
)


def _open(source: str | None, token: str | None):
    # Imported here: reading commands do not import httpx unless they talk to a server.

    src = artifact_source(source or runs_root(None), token)
    if hasattr(src, "close"):
        click.get_current_context().call_on_close(src.close)
    return src


@click.group()
def artifacts() -> None:
    """List, show and download the artifacts runs logged (run.log_artifact)."""


@artifacts.command("list")
@click.argument("path", default=None, required=False, metavar="[PATH|URL]")
@click.option(
    "--json", "as_json", is_flag=True, help="Print a JSON array, one object per artifact."
)
@_TOKEN
def list_(path: str | None, as_json: bool, token: str | None) -> None:
    """List every artifact: its type, number of versions, latest version and aliases."""
    items = _open(path, token).list()
    if as_json:
        click.echo(json.dumps(items, indent=1))
        return
    if not items:
        click.echo("no artifacts", err=True)
        return
    rows = [
        (
            f"{a['project']}/{a['name']}",
            a["type"],
            str(a["versions"]),
            a["latest"],
            ", ".join(f"{k}:{v}" for k, v in (a.get("aliases") or {}).items()),
        )
        for a in items
    ]
    _table(("ARTIFACT", "TYPE", "VERSIONS", "LATEST", "ALIASES"), rows)


@artifacts.command()
@click.argument("name", metavar="[PROJECT/]NAME[:VERSION|ALIAS]")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the version (or the artifact) as JSON."
)
@_FROM
@_TOKEN
def show(name: str, as_json: bool, source: str | None, token: str | None) -> None:
    """Show one version (NAME:v3, NAME:best, NAME:latest) with its files, or, for a bare NAME,
    every version of the artifact."""

    src = _open(source, token)
    project, base, ref = split_name(name)
    project = src.find(project, base)
    if ref is None:
        coll = src.collection(project, base)
        if as_json:
            click.echo(json.dumps(coll, indent=1))
            return
        click.echo(f"{project}/{base}  type {coll['type']}")
        rows = [
            (
                f"v{v['version']}",
                _time(v.get("created_at")),
                f"{v.get('size') or 0:,}",
                str(v.get("file_count")),
                v.get("run") or "",
                ", ".join(v.get("aliases") or []),
            )
            for v in coll["versions"]
        ]
        _table(("VERSION", "CREATED", "BYTES", "FILES", "RUN", "ALIASES"), rows)
        return
    v = src.version(project, base, ref)
    if as_json:
        click.echo(json.dumps(v, indent=1))
        return
    manifest = v["manifest"]
    click.echo(f"{project}/{base}:v{v['version']}  type {v['type']}")
    click.echo(f"aliases: {', '.join(v.get('aliases') or []) or '-'}")
    click.echo(f"digest: {v['digest']}")
    click.echo(f"size: {v.get('size') or 0:,} bytes in {v.get('file_count')} file(s)")
    click.echo(f"logged by run {v.get('run')} at {_time(v.get('created_at'))}")
    if v.get("used_by"):
        click.echo(f"used by: {', '.join(v['used_by'])}")
    if manifest.get("description"):
        click.echo(f"description: {manifest['description']}")
    if manifest.get("metadata"):
        click.echo(f"metadata: {json.dumps(manifest['metadata'])}")
    files = [
        (path, f"{e.get('size') or 0:,}", e.get("ref") or e["digest"][:16])
        for path, e in sorted((manifest.get("entries") or {}).items())
    ]
    _table(("FILE", "BYTES", "SHA256 / REFERENCE"), files)


@artifacts.command()
@click.argument("name", metavar="[PROJECT/]NAME[:VERSION|ALIAS]")
@click.option(
    "--root",
    default=None,
    metavar="DIR",
    help="Where to write the files (default: ./artifacts/NAME:VERSION).",
)
@_FROM
@_TOKEN
def download(name: str, root: str | None, source: str | None, token: str | None) -> None:
    """Write a version's files into a folder (checked against their sha256) and print its path.

    References (add_reference) are recorded, not fetched: they are not written.
    """

    src = _open(source, token)
    project, base, ref = split_name(name)
    project = src.find(project, base)
    v = src.version(project, base, ref or "latest")
    root = root or os.path.join("artifacts", f"{base}:v{v['version']}")
    count = src.download(v, root)
    click.echo(root)
    click.echo(
        f"{project}/{base}:v{v['version']}: {count} file(s), {v.get('size') or 0:,} bytes", err=True
    )


def _time(t) -> str:
    if type(t) not in (int, float):
        return "-"
    return datetime.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")


def _table(header: tuple, rows: list[tuple]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        click.echo("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
