"""The artifact routes (docs/protocol.md, "Artifacts"): versions put by ``localrun sync``, read
back by ``localrun artifacts``, their files served from the blobs.

An artifact's files are blobs like media files (content-addressed, uploaded once per server
through the blob routes); a version is its manifest (paths to sha256s), stored in SQLite. A
version is accepted only when its digest is what its manifest hashes to and every file it
names is on the server, so a stored version can always be downloaded whole.
"""

from __future__ import annotations

import json
import math
import os

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from localrun.artifacts.artifact import digest_of
from localrun.contract import alias_problem, artifact_name_problem, version_number
from localrun.sync.protocol import (
    API,
    ARTIFACT_FILE_ROUTE,
    ARTIFACT_ROUTE,
    ARTIFACT_VERSION_ROUTE,
    ARTIFACTS_ROUTE,
)

from .names import BadInput, check_media_path, check_project, check_sha256
from .storage import ArtifactConflict

MAX_TYPE_CHARS = 128


def check_artifact_name(name: str) -> str:
    problem = artifact_name_problem(name)
    if problem is not None:
        raise BadInput(problem)
    return name


class ArtifactApi:
    """The handlers; ``api`` is the server's ``_Api`` (storage, blobs, body decoding)."""

    def __init__(self, api):
        self.api = api
        self.storage = api.storage
        self.blobs = api.blobs

    def routes(self) -> list[Route]:
        return [
            Route(f"{API}{ARTIFACTS_ROUTE}", self.list_all, methods=["GET"]),
            Route(f"{API}{ARTIFACT_ROUTE}", self.get_collection, methods=["GET"]),
            Route(f"{API}{ARTIFACT_VERSION_ROUTE}", self.put_version, methods=["PUT"]),
            Route(f"{API}{ARTIFACT_VERSION_ROUTE}", self.get_version, methods=["GET"]),
            Route(f"{API}{ARTIFACT_FILE_ROUTE}", self.get_file, methods=["GET"]),
        ]

    def _names(self, request: Request) -> tuple[str, str]:
        p = request.path_params
        return check_project(p["project"]), check_artifact_name(p["name"])

    async def _call(self, fn, *args):
        try:
            return await run_in_threadpool(fn, *args)
        except NotImplementedError:
            raise BadInput("this server's storage does not keep artifacts", status=501) from None

    async def list_all(self, request: Request) -> Response:
        return _json(await self._call(self.storage.artifact_collections))

    async def _collection(self, project: str, name: str) -> dict:
        coll = await self._call(self.storage.artifact_collection, project, name)
        if coll is None:
            raise BadInput(
                f"no artifact {name!r} in project {project!r} on this server", status=404
            )
        return coll

    async def get_collection(self, request: Request) -> Response:
        project, name = self._names(request)
        return _json(await self._collection(project, name))

    async def _version(self, request: Request) -> dict:
        """The version ``ref`` names, with its ``aliases`` and ``manifest``."""
        project, name = self._names(request)
        coll = await self._collection(project, name)
        ref = request.path_params["ref"]
        number = coll["versions"][-1]["version"] if ref == "latest" else version_number(ref)
        if number is None:
            number = coll["aliases"].get(ref)
        version = next((v for v in coll["versions"] if v["version"] == number), None)
        if version is None:
            raise BadInput(
                f"artifact {project}/{name} has no version or alias {ref!r} on this server",
                status=404,
            )
        manifest = await self._call(self.storage.artifact_manifest, project, name, number)
        latest = coll["versions"][-1]["version"] == number
        aliases = (["latest"] if latest else []) + sorted(
            a for a, n in coll["aliases"].items() if n == number
        )
        return {
            "project": project,
            "name": name,
            "type": coll["type"],
            **version,
            "aliases": aliases,
            "manifest": json.loads(manifest),
        }

    async def get_version(self, request: Request) -> Response:
        return _json(await self._version(request))

    async def get_file(self, request: Request) -> Response:
        version = await self._version(request)
        path = request.path_params["path"]
        entry = (version["manifest"].get("entries") or {}).get(path)
        if entry is None or entry.get("ref") is not None:
            raise BadInput(
                f"{version['name']}:v{version['version']} has no file {path!r} on this server",
                status=404,
            )
        blob = self.blobs.path(check_sha256(entry["digest"]))
        if not os.path.exists(blob):
            raise BadInput(f"the file {path!r} is not on this server", status=404)
        return FileResponse(blob, media_type="application/octet-stream")

    async def put_version(self, request: Request) -> Response:
        project, name = self._names(request)
        number = version_number(request.path_params["ref"])
        if number is None:
            raise BadInput(f"put a version as .../v<number>, not {request.path_params['ref']!r}")
        body = await self.api._decode(request)
        info, aliases, refs = _check_version(body)
        self.api._require_blobs(refs)
        try:
            created = await self._call(
                self.storage.put_artifact_version, project, name, number, info, aliases
            )
        except ArtifactConflict as exc:
            raise BadInput(
                f"this server holds artifact {project}/{name} otherwise: {exc}. Nothing was "
                "stored. Another runs root logged it: sync this run's project elsewhere, or "
                "rename the artifact",
                status=409,
                conflict="artifact",
            ) from None
        return _json(
            {"project": project, "name": name, "version": number, "created": created},
            201 if created else 200,
        )


def _check_version(body: object) -> tuple[dict, list[tuple[str, float]], set[str]]:
    """The version a body describes, its aliases, and the blobs it names; 400 if it is not one."""
    if type(body) is not dict:
        raise BadInput('the body must be an object: {"type", "digest", "manifest", ...}')
    type_ = body.get("type")
    if (
        type(type_) is not str
        or not 0 < len(type_) <= MAX_TYPE_CHARS
        or any(c in type_ for c in "/:")
    ):
        raise BadInput(
            f"type must be 1-{MAX_TYPE_CHARS} characters without '/' or ':', not {str(type_)[:60]!r}"
        )
    digest = check_sha256(body.get("digest"))
    manifest = body.get("manifest")
    entries = manifest.get("entries") if type(manifest) is dict else None
    if type(entries) is not dict:
        raise BadInput('manifest must be an object with "entries": {path: {"digest", "size"}}')
    refs = set()
    digests = {}
    for path, entry in entries.items():
        check_media_path(path)
        if type(entry) is not dict:
            raise BadInput(f"manifest entry {path!r} must be an object")
        sha = check_sha256(entry.get("digest"))
        size = entry.get("size")
        if size is not None and (type(size) is not int or size < 0):
            raise BadInput(f"manifest entry {path!r}: size must be a whole number of bytes")
        ref = entry.get("ref")
        if ref is None:
            refs.add(sha)
        elif type(ref) is not str:
            raise BadInput(f"manifest entry {path!r}: ref must be a URI")
        digests[path] = sha
    if digest_of(digests) != digest:
        raise BadInput(
            f"digest {digest} is not what the manifest's entries hash to ({digest_of(digests)})"
        )
    aliases = []
    for item in body.get("aliases") or []:
        if type(item) is not list or len(item) != 2:
            raise BadInput("aliases must be a list of [alias, time set]")
        alias, at = item
        problem = alias_problem(alias)
        if problem is not None and alias != "latest":
            raise BadInput(problem)
        if type(at) not in (int, float) or not math.isfinite(at):
            raise BadInput(f"the time alias {alias!r} was set must be a number")
        if alias != "latest":
            aliases.append((alias, float(at)))
    info = {
        "type": type_,
        "digest": digest,
        "size": body.get("size") if type(body.get("size")) is int else None,
        "file_count": len(entries),
        "created_at": body.get("created_at")
        if type(body.get("created_at")) in (int, float)
        else None,
        "run": body.get("run") if type(body.get("run")) is str else None,
        "manifest": json.dumps(manifest, sort_keys=True).encode(),
    }
    return info, aliases, refs


def _json(obj, status: int = 200) -> Response:
    from localrun.sync.protocol import JSON

    return Response(json.dumps(obj, ensure_ascii=False), status_code=status, media_type=JSON)
