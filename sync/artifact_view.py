"""Reading artifacts back, from a runs root or from a server, in the same shapes.

``artifact_source(path_or_url)`` gives a ``LocalArtifacts`` (the runs root's store) or a
``RemoteArtifacts`` (a server's artifact routes); both answer ``list()``, ``collection()``,
``version()`` and ``download()``, which is what ``localrun artifacts`` prints and does.

A version is ``{"project", "name", "type", "version", "digest", "size", "file_count",
"created_at", "run", "aliases", "used_by", "manifest": {"description", "metadata",
"entries": {path: {"digest", "size", "ref"?}}}}`` (``used_by`` from a runs root only).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from localrun import durable
from localrun.artifacts.store import Store, aliases_of, find_version
from localrun.errors import ArtifactError, ArtifactNotFoundError, RemoteRejectedError

from .remote_view import is_url


def split_name(text: str) -> tuple[str | None, str, str | None]:
    """``(project or None, name, version or alias or None)`` of ``[project/]name[:ref]``."""
    path, _, ref = text.partition(":")
    parts = path.split("/")
    if len(parts) > 3 or not parts[-1]:
        raise ArtifactError(
            f"{text!r} is not an artifact name: give NAME, NAME:v3, NAME:alias or PROJECT/NAME:alias"
        )
    return (parts[-2] if len(parts) >= 2 else None), parts[-1], (ref or None)


class LocalArtifacts:
    """The artifacts of a runs root."""

    def __init__(self, root: str):
        self.where = root
        self.store = Store(root)

    def list(self) -> list[dict]:
        out = []
        for project, name, _ in self.store.names():
            coll = self.store.collection(project, name)
            if not coll or not coll.get("versions"):
                continue
            out.append(
                {
                    "project": project,
                    "name": name,
                    "type": coll["type"],
                    "versions": len(coll["versions"]),
                    "latest": f"v{coll['versions'][-1]['version']}",
                    "aliases": {a: f"v{n}" for a, n in sorted(coll["aliases"].items())},
                }
            )
        return out

    def find(self, project: str | None, name: str) -> str:
        """The project of artifact ``name`` (given, or the one project that has it)."""
        if project is not None:
            return project
        found = sorted({p for p, n, _ in self.store.names() if n == name})
        if not found:
            raise ArtifactNotFoundError(
                f"no artifact {name!r} in {self.where}. `localrun artifacts list {self.where}` shows what there is"
            )
        if len(found) > 1:
            raise ArtifactError(
                f"artifact {name!r} is in several projects ({', '.join(found)}): name one, as PROJECT/{name}"
            )
        return found[0]

    def collection(self, project: str, name: str) -> dict:
        coll = self.store.collection(project, name)
        if not coll or not coll.get("versions"):
            raise ArtifactNotFoundError(f"no artifact {project}/{name} in {self.where}")
        return {
            "project": project,
            "name": name,
            "type": coll["type"],
            "versions": [
                {**_public(v), "aliases": aliases_of(coll, v["version"])} for v in coll["versions"]
            ],
            "aliases": {a: f"v{n}" for a, n in sorted(coll["aliases"].items())},
        }

    def version(self, project: str, name: str, ref: str) -> dict:
        coll, v = self.store.resolve(project, name, ref)
        return {
            "project": project,
            "name": name,
            "type": coll["type"],
            **_public(v),
            "aliases": aliases_of(coll, v["version"]),
            "used_by": coll.get("used_by", {}).get(str(v["version"]), []),
            "manifest": self.store.read_json(v["manifest"]),
        }

    def fetch(self, sha256: str, dest: str, what: str) -> None:
        self.store.copy_out(sha256, dest, what)

    def download(self, version: dict, root: str) -> int:
        return _download(self, version, root)


class RemoteArtifacts:
    """The artifacts on a server."""

    def __init__(self, url: str, token: str | None):
        from .remote import Remote

        self.where = url
        self.remote = Remote(url, token=token)

    def close(self) -> None:
        self.remote.close()

    def _get(self, project: str, name: str, ref: str | None = None) -> dict:
        with _found():
            return self.remote.artifact(project, name, ref)

    def list(self) -> list[dict]:
        with _found():
            return self.remote.artifacts()

    def find(self, project: str | None, name: str) -> str:
        if project is not None:
            return project
        found = sorted({a["project"] for a in self.list() if a["name"] == name})
        if len(found) != 1:
            raise ArtifactNotFoundError(
                f"no artifact {name!r} on {self.where}"
                if not found
                else f"artifact {name!r} is in several projects ({', '.join(found)}): name one, as PROJECT/{name}"
            )
        return found[0]

    def collection(self, project: str, name: str) -> dict:
        coll = self._get(project, name)
        coll["versions"] = [
            {**v, "aliases": aliases_of(coll, v["version"])} for v in coll["versions"]
        ]
        coll["aliases"] = {a: f"v{n}" for a, n in sorted(coll["aliases"].items())}
        return coll

    def version(self, project: str, name: str, ref: str) -> dict:
        return self._get(project, name, ref)

    def fetch(self, sha256: str, dest: str, what: str) -> None:
        folder = os.path.dirname(dest) or "."
        os.makedirs(folder, exist_ok=True)
        tmp: str | None  # None once in place
        fd, tmp = durable.temp_file(folder, 0o644)
        try:
            with os.fdopen(fd, "wb") as f:
                self.remote.download_blob(sha256, f)
            durable.replace(tmp, dest, sync=False)
            tmp = None
        finally:
            if tmp is not None:
                durable.discard(tmp)

    def download(self, version: dict, root: str) -> int:
        return _download(self, version, root)


@contextmanager
def _found() -> Iterator[None]:
    """A server's 404 as ``ArtifactNotFoundError``; other refusals as they are."""
    try:
        yield
    except RemoteRejectedError as exc:
        if exc.status == 404:
            raise ArtifactNotFoundError(f"{exc}") from None
        raise


def _public(v: dict) -> dict:
    return {k: v.get(k) for k in ("version", "digest", "size", "file_count", "created_at", "run")}


def _download(source, version: dict, root: str) -> int:
    """Write the version's files under ``root``; returns how many. References are skipped."""
    count = 0
    what = f"{version['project']}/{version['name']}:v{version['version']}"
    for path, entry in sorted((version["manifest"].get("entries") or {}).items()):
        if entry.get("ref") is not None:
            continue
        parts = path.split("/")
        if any(p in ("", ".", "..") for p in parts):
            raise ArtifactError(f"{what} names a file {path!r} outside its folder; not written")
        source.fetch(entry["digest"], os.path.join(root, *parts), f"{what}/{path}")
        count += 1
    return count


def artifact_source(path_or_url: str, token: str | None = None):
    """``RemoteArtifacts`` for a server URL, else ``LocalArtifacts`` for a runs root."""
    if is_url(path_or_url):
        return RemoteArtifacts(path_or_url.rstrip("/"), token)
    if not os.path.isdir(path_or_url):
        raise ArtifactNotFoundError(
            f"{path_or_url} does not exist. Give the folder of runs (default ./runs, or "
            "$LOCALRUN_DIR) or a server URL"
        )
    return LocalArtifacts(path_or_url)


__all__ = ["artifact_source", "find_version", "split_name"]
