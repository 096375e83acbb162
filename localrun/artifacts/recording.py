"""A run logging and using artifacts: ``Run.log_artifact``, ``use_artifact``, ``log_model``,
``use_model`` are these functions.

Logging stores the files (``store.py``), then the manifest, then adds the version to the
runs root's index under its lock, and last appends an ``artifact`` record to the run's segment
(docs/format.md, kind 9): a process killed before the end leaves no version that names a
missing file. Using resolves ``name:alias`` from the index, adds the run to the version's
users (lineage) and appends a ``use`` record.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import TYPE_CHECKING, Any

from ..errors import ArtifactError, ArtifactNotFoundError
from ..record import kinds
from .artifact import MANIFEST_FORMAT, Artifact, check_aliases, check_name, from_version
from .store import Store

if TYPE_CHECKING:
    from ..run import Run


def _store(run: Run) -> Store:
    return Store(os.path.abspath(run._root))  # a later chdir must not move it


def _prepare(run: Run, artifact_or_path: Any, name: str | None, type: str | None) -> Artifact:
    if isinstance(artifact_or_path, Artifact):
        return artifact_or_path
    if not isinstance(artifact_or_path, (str, os.PathLike)):
        raise TypeError(
            "You must pass an instance of localrun.Artifact or a valid file path to "
            f"log_artifact, not {artifact_or_path.__class__.__name__}"
        )
    path = os.fspath(artifact_or_path)
    name = name or f"run-{run.id}-{os.path.basename(os.path.normpath(path))}"
    artifact = Artifact(name.split(":")[0], type or "unspecified")
    if os.path.isfile(path):
        artifact.add_file(path)
    elif os.path.isdir(path):
        artifact.add_dir(path)
    elif "://" in path:
        artifact.add_reference(path)
    else:
        raise ArtifactError(
            f"{path!r} is not a file or a folder: log_artifact() takes a path to one, a "
            "reference like s3://bucket/path, or a localrun.Artifact"
        )
    return artifact


def log_artifact(
    run: Run,
    artifact_or_path: Any,
    name: str | None = None,
    type: str | None = None,
    aliases: Any = None,
    tags: Any = None,
) -> Artifact:
    """Store the artifact's files in the runs root and record a new version of it (or, when
    its contents are the latest version's, that version again, with the aliases given)."""
    if run._writer is None:
        raise run._closed_error("log an artifact to")
    aliases = check_aliases(aliases)
    artifact = _prepare(run, artifact_or_path, name, type)
    store = _store(run)
    if artifact._logged and artifact._home()[0].root != store.root:
        _import(artifact, store)
    entries = artifact._manifest.entries
    for entry in entries.values():
        if entry.ref is None and entry.local_path is not None:
            entry._digest, entry.size = store.put_file(entry.local_path, link=entry._link)
    doc = {
        "format": MANIFEST_FORMAT,
        "type": artifact._type,
        "description": artifact._description,
        "metadata": artifact._metadata,
        "entries": artifact._manifest.to_json(),
    }
    manifest_sha = store.put_bytes(json.dumps(doc, sort_keys=True).encode())
    version = store.add_version(
        run.project,
        artifact._name,
        {
            "type": artifact._type,
            "digest": artifact._manifest.digest(),
            "manifest": manifest_sha,
            "size": artifact._manifest.size(),
            "file_count": len(entries),
            "run": run.id,
        },
        aliases,
    )
    coll = _collection(store, run.project, artifact._name)
    artifact._mark_logged(store, run.project, run.entity, coll, version)
    if artifact._tmp is not None:  # its files are in the store now
        shutil.rmtree(artifact._tmp, ignore_errors=True)
        artifact._tmp = None
    run._append(kinds.ARTIFACT, "log", {**_info(run.project, coll, version), "aliases": aliases})
    return artifact


def _import(artifact: Artifact, store: Store) -> None:
    """A logged artifact from another runs root, logged here: its files are copied over."""
    src, _ = artifact._home()
    for entry in artifact._manifest.entries.values():
        if entry.ref is None and not store.has(entry.digest):
            store.put_file(src.object_path(entry.digest))


def _collection(store: Store, project: str, name: str) -> dict:
    """The index entry of ``project/name``, which a logged version guarantees."""
    coll = store.collection(project, name)
    if coll is None:
        raise ArtifactNotFoundError(
            f"artifact {project}/{name} was logged but is gone from the index in {store.root}: "
            "was its .artifacts folder removed meanwhile? Log the artifact again"
        )
    return coll


def _info(project: str, coll: dict, version: dict) -> dict:
    return {
        "project": project,
        "name": coll["name"],
        "version": version["version"],
        "type": coll["type"],
        "digest": version["digest"],
        "manifest": version["manifest"],
        "size": version.get("size"),
        "file_count": version.get("file_count"),
    }


def parse_ref(text: str, project: str) -> tuple[str, str, str]:
    """``(project, name, version or alias)`` of ``[entity/][project/]name[:alias]``."""
    if type(text) is not str or not text:
        raise ArtifactError(
            f"use_artifact() takes a name like 'mnist:v1', 'model:latest' or 'project/name:best', not {text!r}"
        )
    path, _, ref = text.partition(":")
    parts = path.split("/")
    if len(parts) > 3:
        raise ArtifactError(
            f"{text!r} is not an artifact name: use name:alias, project/name:alias or entity/project/name:alias"
        )
    name = check_name(parts[-1])
    if len(parts) >= 2:
        project = parts[-2]
    return project, name, ref or "latest"


def resolve(store: Store, text: str, project: str) -> tuple[dict, dict]:
    """``(collection, version)`` that ``text`` names in ``store``."""
    p, name, ref = parse_ref(text, project)
    return store.resolve(p, name, ref)


def use_artifact(
    run: Run,
    artifact_or_name: Any,
    type: str | None = None,
    aliases: Any = None,
    use_as: str | None = None,
) -> Artifact:
    """Resolve an artifact version in the runs root and record that this run used it."""
    if run._writer is None:
        raise run._closed_error("use an artifact in")
    store = _store(run)
    if isinstance(artifact_or_name, Artifact):
        artifact = artifact_or_name
        if not artifact._logged:
            log_artifact(run, artifact, aliases=aliases)
        coll = _collection(*artifact._home(), artifact._name)
        version = next(v for v in coll["versions"] if v["version"] == artifact._version)
    elif isinstance(artifact_or_name, str):
        coll, version = resolve(store, artifact_or_name, run.project)
        artifact = from_version(store, coll, version, run.entity)
        if type is not None and type != artifact.type:
            raise ArtifactError(
                f"Supplied type {type} does not match type {artifact.type} of artifact {artifact.name}"
            )
    else:
        raise ArtifactError(
            'You must pass an artifact name (e.g. "pedestrian-dataset:v1") or a '
            f"localrun.Artifact to use_artifact, not {artifact_or_name!r}"
        )
    home, project = artifact._home()
    home.add_use(project, coll["name"], version["version"], run.id)
    run._append(kinds.ARTIFACT, "use", _info(project, coll, version))
    return artifact


def log_model(run: Run, path: Any, name: str | None = None, aliases: Any = None) -> None:
    """Log the file or folder at ``path`` as an artifact of type ``model``."""
    log_artifact(run, path, name=name, type="model", aliases=aliases)


def use_model(run: Run, name: str) -> str:
    """Use model artifact ``name`` and download it; returns the folder, or the file when it
    holds one."""
    artifact = use_artifact(run, name)
    if "model" not in artifact.type.lower():
        raise ArtifactError(
            f"use_model() is for 'model' artifacts; {artifact.name} has type {artifact.type!r}. "
            "Use use_artifact() for it"
        )
    path = artifact.download()
    names = os.listdir(path)
    return os.path.join(path, names[0]) if len(names) == 1 else path
