"""``localrun.Artifact``: wandb's Artifact, stored in the runs root instead of a server.

An Artifact is a draft until ``run.log_artifact()`` logs it: files added to it are noted (their
path), not read; logging copies each into the runs root's store while hashing it (one read,
one write, a piece at a time: ``store.py``), and gives the artifact a version. A logged
artifact (or one from ``run.use_artifact()``) is read-only: its files are read back from the
store by ``download()`` and ``get_entry(path).download()``, each checked against its sha256.

Differences from wandb, on purpose: digests are sha256 (hex), not md5 (base64); references
(``add_reference``) are recorded and never fetched (a ``file://`` one is hashed, others keep
the hash of their URI), so ``download()`` copies only local ones; a file's content is taken
when the artifact is logged, not when it is added.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import posixpath
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

from .. import contract
from ..errors import (
    ArtifactError,
    ArtifactFinalizedError,
    ArtifactNotLoggedError,
    MediaTypeError,
)
from .store import Store, aliases_of, hash_file

MANIFEST_FORMAT = 1
#: The first line hashed into an artifact's digest (docs/format.md, "Artifacts").
DIGEST_HEADER = "localrun-artifact-manifest-v1\n"
_RESERVED_TYPE_PREFIX = "wandb-"


def check_name(name: Any) -> str:
    problem = contract.artifact_name_problem(name)
    if problem is not None:
        raise ArtifactError(f"{problem}. Name it e.g. 'model-{{run id}}' or 'mnist-train'")
    return name


def check_aliases(aliases: Any) -> list[str]:
    """``aliases`` as a list (a str is one alias), each checked; ``latest`` added, as wandb."""
    if aliases is None:
        aliases = []
    elif isinstance(aliases, str):
        aliases = [aliases]
    out = []
    for alias in [*aliases, "latest"]:
        problem = contract.alias_problem(alias)
        if problem is not None:
            raise ArtifactError(f"{problem}. Use a word like 'best' or 'prod'")
        if alias not in out:
            out.append(alias)
    return out


def check_entry_path(name: Any) -> str:
    """A path inside an artifact, as ``a/b.txt``: relative, with no way out of its folder."""
    text = os.fspath(name) if isinstance(name, os.PathLike) else name
    if type(text) is str:
        text = text.replace(os.sep, "/") if os.sep != "/" else text
        parts = [p for p in text.split("/") if p not in ("", ".")]
    if (
        type(text) is not str
        or not text
        or text.startswith("/")
        or "\\" in text
        or "\x00" in text
        or (len(text) > 1 and text[1] == ":")
        or not parts
        or ".." in parts
    ):
        raise ArtifactError(
            f"Invalid artifact path: {name!r}. Give a relative path inside the artifact, like 'model.ckpt' or 'weights/part1.bin'"
        )
    return "/".join(parts)


def manifest_digest(entries: dict[str, ManifestEntry]) -> str:
    """The artifact's digest: see ``digest_of``."""
    return digest_of({path: e.digest for path, e in entries.items()})


def digest_of(digests: dict[str, str]) -> str:
    """An artifact's digest from ``{path: digest}``: sha256 of ``DIGEST_HEADER`` and one
    ``path:digest`` line per entry, in path order. It depends on the contents only (not the
    metadata); a server checks it the same way."""
    h = hashlib.sha256(DIGEST_HEADER.encode())
    for path in sorted(digests):
        h.update(f"{path}:{digests[path]}\n".encode())
    return h.hexdigest()


class ManifestEntry:
    """One file (or reference) of an artifact, as wandb's ``ArtifactManifestEntry``."""

    def __init__(
        self,
        path: str,
        digest: str | None = None,
        size: int | None = None,
        ref: str | None = None,
        local_path: str | None = None,
        link: bool = False,
    ):
        self.path = path
        self._digest = digest
        self.size = size
        self.ref = ref
        self.local_path = local_path
        self._link = link
        self._artifact: Artifact | None = None

    @property
    def digest(self) -> str:
        """The sha256 of the file (hex); of a reference that is not a local file, of its URI."""
        if self._digest is None:
            if self.local_path is None:  # every entry is made with a digest or a local file
                raise ArtifactError(
                    f"manifest entry {self.path!r} has neither a digest nor a local file; "
                    "add the file to the artifact again"
                )
            self._digest, self.size = hash_file(self.local_path)
        return self._digest

    @property
    def sha256(self) -> str:
        return self.digest

    def ref_url(self) -> str:
        """The URI of a reference entry; of a stored file, ``localrun-artifact://<sha256>``."""
        return self.ref if self.ref is not None else f"localrun-artifact://{self.digest}"

    def download(
        self, root: str | os.PathLike | None = None, skip_cache: bool | None = None
    ) -> str:
        """Copy this file out of the store to ``root/<path>`` (default: the artifact's
        download folder); returns its path."""
        artifact = self._artifact
        if artifact is None or not artifact._logged:
            raise ArtifactNotLoggedError(
                f"'ArtifactManifestEntry.download' of {self.path!r} used prior to logging its "
                "artifact. Log it first (run.log_artifact), or use one (run.use_artifact)"
            )
        root = os.fspath(root) if root is not None else artifact._default_root()
        return artifact._download_entry(self, root, allow_missing_references=False)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"digest": self.digest, "size": self.size}
        if self.ref is not None:
            out["ref"] = self.ref
        return out

    def __repr__(self) -> str:
        return f"<ManifestEntry {self.path} {self.size} bytes sha256={str(self._digest)[:12]}>"


class Manifest:
    """The entries of an artifact, by path (wandb's ``artifact.manifest``)."""

    def __init__(self) -> None:
        self.entries: dict[str, ManifestEntry] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def get_entry_by_path(self, path: str) -> ManifestEntry | None:
        return self.entries.get(path)

    def digest(self) -> str:
        return manifest_digest(self.entries)

    def size(self) -> int:
        return sum(e.size or 0 for e in self.entries.values() if e.digest is not None)

    def to_json(self) -> dict[str, dict]:
        return {path: self.entries[path].to_json() for path in sorted(self.entries)}


class Artifact:
    """A versioned set of files: ``Artifact(name, type)``, add files, ``run.log_artifact(it)``.

    ``name``: 1-128 letters, digits, ``_ - .``; ``type``: e.g. ``"model"``, ``"dataset"``;
    ``metadata``: a dict stored with the version (made plain as config is).
    """

    def __init__(
        self,
        name: str,
        type: str,
        description: str | None = None,
        metadata: dict | None = None,
        incremental: bool = False,
        use_as: str | None = None,
        **_: Any,
    ):
        self._name = check_name(name)
        self._type = _check_type(type, name)
        self._description = description if description is None else str(description)
        self._metadata = _plain_metadata(metadata)
        self._manifest = Manifest()
        self._tmp: str | None = None  # new_file()'s folder, removed once logged (or unused)
        self._added_local_paths: dict[str, ManifestEntry] = {}
        # Set when logged or used.
        self._logged = False
        self._version: int | None = None
        self._project: str | None = None
        self._entity: str | None = None
        self._aliases: list[str] = []
        self._digest: str | None = None
        self._manifest_sha: str | None = None
        self._created_at: float | None = None
        self._run_id: str | None = None
        self._store: Store | None = None

    def __repr__(self) -> str:
        return f"<Artifact {self.name}>"

    # --- identity ------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """``name``, and once logged ``name:v<version>`` (as wandb)."""
        return self._name if self._version is None else f"{self._name}:v{self._version}"

    @property
    def source_name(self) -> str:
        return self.name

    @property
    def type(self) -> str:
        return self._type

    @property
    def description(self) -> str | None:
        return self._description

    @description.setter
    def description(self, value: str | None) -> None:
        self._check_draft("description")
        self._description = value if value is None else str(value)

    @property
    def metadata(self) -> dict:
        return self._metadata

    @metadata.setter
    def metadata(self, value: dict) -> None:
        self._check_draft("metadata")
        self._metadata = _plain_metadata(value)

    @property
    def version(self) -> str:
        return f"v{self._logged_field('version', self._version)}"

    @property
    def project(self) -> str:
        return self._logged_field("project", self._project)

    @property
    def entity(self) -> str | None:
        self._logged_field("entity", self._project)
        return self._entity

    @property
    def qualified_name(self) -> str:
        """``project/name:vN`` (``entity/project/name:vN`` when the run has an entity):
        ``use_artifact`` takes it."""
        base = f"{self.project}/{self.name}"
        return f"{self._entity}/{base}" if self._entity else base

    @property
    def aliases(self) -> list[str]:
        self._logged_field("aliases", self._version)
        return list(self._aliases)

    @property
    def id(self) -> str | None:
        return None if not self._logged else f"{self._project}/{self.name}"

    @property
    def state(self) -> str:
        return "COMMITTED" if self._logged else "PENDING"

    @property
    def created_at(self) -> float:
        return self._logged_field("created_at", self._created_at)

    @property
    def file_count(self) -> int:
        self._logged_field("file_count", self._version)
        return len(self._manifest)

    @property
    def manifest(self) -> Manifest:
        return self._manifest

    @property
    def digest(self) -> str:
        """sha256 of the entries' paths and digests (hashes the added files if not logged yet)."""
        return self._digest if self._digest is not None else self._manifest.digest()

    @property
    def size(self) -> int:
        return self._manifest.size()

    def is_draft(self) -> bool:
        return not self._logged

    def wait(self, timeout: int | None = None) -> Artifact:
        """Logging is done when ``log_artifact`` returns: returns the artifact."""
        self._logged_field("wait", self._version)
        return self

    def save(self, project: str | None = None, settings: Any = None) -> None:
        """A draft is logged to the current run (as wandb does); a logged artifact has nothing
        to save (its aliases move when a version is logged with them)."""
        if not self._logged:
            from ..session import current

            current().log_artifact(self)

    def logged_by(self) -> str | None:
        """The id of the run that logged this version."""
        self._logged_field("logged_by", self._version)
        return self._run_id

    def used_by(self) -> list[str]:
        """The ids of the runs that used this version (as far as the runs root knows)."""
        self._logged_field("used_by", self._version)
        store, project = self._home()
        coll = store.collection(project, self._name) or {}
        return list(coll.get("used_by", {}).get(str(self._version), []))

    def _logged_field(self, what: str, value: Any) -> Any:
        if not self._logged:
            raise ArtifactNotLoggedError(
                f"'Artifact.{what}' used prior to logging artifact {self._name!r}. "
                "Log it first with run.log_artifact(artifact)"
            )
        return value

    def _home(self) -> tuple[Store, str]:
        """``(store, project)`` of a logged artifact (``_mark_logged`` sets both)."""
        if self._store is None or self._project is None:
            raise ArtifactNotLoggedError(
                f"artifact {self._name!r} is not logged, so it has no runs root yet. "
                "Log it first with run.log_artifact(artifact)"
            )
        return self._store, self._project

    def _check_draft(self, what: str) -> None:
        if self._logged:
            raise ArtifactFinalizedError(
                f"'Artifact.{what}' used on logged artifact {self.name!r}. Can't modify a "
                f"logged artifact: make a new Artifact({self._name!r}, ...) and log it as a new version"
            )

    # --- adding --------------------------------------------------------------------------------

    def add_file(
        self,
        local_path: str | os.PathLike,
        name: str | os.PathLike | None = None,
        is_tmp: bool | None = False,
        skip_cache: bool | None = False,
        policy: str | None = "mutable",
        overwrite: bool = False,
    ) -> ManifestEntry:
        """Add the file at ``local_path`` as ``name`` (default: its base name).

        Its bytes are stored when the artifact is logged. ``policy="immutable"`` lets the
        store hard-link the file instead of copying it (you promise not to change it).
        """
        self._check_draft("add_file")
        local_path = os.fspath(local_path)
        if not os.path.isfile(local_path):
            raise ArtifactError(f"Path is not a file: {local_path!r}")
        path = check_entry_path(name if name is not None else os.path.basename(local_path))
        policy = policy or "mutable"
        if policy not in ("mutable", "immutable"):
            raise ArtifactError(
                f"Invalid policy {policy!r}. Policy may only be 'mutable' or 'immutable'"
            )
        entry = ManifestEntry(
            path,
            size=os.path.getsize(local_path),
            local_path=local_path,
            link=policy == "immutable",
        )
        self._add_entry(entry, overwrite)
        self._added_local_paths[local_path] = entry
        return entry

    def add_dir(
        self,
        local_path: str | os.PathLike,
        name: str | None = None,
        skip_cache: bool | None = False,
        policy: str | None = "mutable",
        merge: bool = False,
    ) -> None:
        """Add every file under the folder ``local_path``, under ``name/`` (default: the top)."""
        self._check_draft("add_dir")
        local_path = os.fspath(local_path)
        if not os.path.isdir(local_path):
            raise ArtifactError(f"Path is not a directory: {local_path!r}")
        prefix = check_entry_path(name) if name else ""
        for folder, dirs, files in os.walk(local_path, followlinks=True):
            dirs.sort()
            for f in sorted(files):
                full = os.path.join(folder, f)
                rel = os.path.relpath(full, local_path).replace(os.sep, "/")
                self.add_file(
                    full, name=f"{prefix}/{rel}" if prefix else rel, policy=policy, overwrite=merge
                )

    @contextlib.contextmanager
    def new_file(
        self, name: str, mode: str = "x", encoding: str | None = None, policy: str = "mutable"
    ) -> Iterator[Any]:
        """Open a new file to write; when the ``with`` block ends it is added as ``name``."""
        self._check_draft("new_file")
        path = check_entry_path(name)
        local = os.path.join(self._scratch(), *path.split("/"))
        os.makedirs(os.path.dirname(local), exist_ok=True)
        try:
            f = open(local, mode, encoding=encoding)
        except FileExistsError:
            raise ArtifactError(
                f"File with name {name!r} already exists in artifact {self._name!r}: open it "
                "with mode='w' to replace it"
            ) from None
        with f:
            yield f
        self.add_file(local, name=path, policy=policy, overwrite="x" not in mode)

    def add_reference(
        self,
        uri: str | ManifestEntry,
        name: str | os.PathLike | None = None,
        checksum: bool = True,
        max_objects: int | None = None,
    ) -> list[ManifestEntry]:
        """Record a reference to ``uri``; nothing is downloaded (localrun never goes online).

        A ``file://`` URI of a file is hashed (``checksum``), of a folder each file under it is
        a reference of its own; any other URI keeps the sha256 of the URI as its digest.
        """
        self._check_draft("add_reference")
        uri = uri.ref_url() if isinstance(uri, ManifestEntry) else str(uri)
        parts = urlsplit(uri)
        if not parts.scheme:
            raise ArtifactError(
                f"References must be URIs, not {uri!r}. To reference a local file, use file://"
            )
        added = []
        if parts.scheme == "file":
            local = unquote(parts.path)
            if os.path.isdir(local):
                base = check_entry_path(name) if name else ""
                count = 0
                for folder, dirs, files in os.walk(local):
                    dirs.sort()
                    for f in sorted(files):
                        full = os.path.join(folder, f)
                        rel = os.path.relpath(full, local).replace(os.sep, "/")
                        path = f"{base}/{rel}" if base else rel
                        added.append(self._file_ref(full, path, checksum))
                        count += 1
                        if max_objects is not None and count >= max_objects:
                            return added
                return added
            if os.path.isfile(local):
                path = check_entry_path(name or os.path.basename(local))
                return [self._file_ref(local, path, checksum)]
        path = check_entry_path(name or posixpath.basename(parts.path.rstrip("/")) or parts.netloc)
        entry = ManifestEntry(path, digest=hashlib.sha256(uri.encode()).hexdigest(), ref=uri)
        self._add_entry(entry, overwrite=False)
        return [entry]

    def _file_ref(self, local: str, path: str, checksum: bool) -> ManifestEntry:
        uri = "file://" + os.path.abspath(local)
        if checksum:
            digest, size = hash_file(local)
        else:
            digest, size = hashlib.sha256(uri.encode()).hexdigest(), os.path.getsize(local)
        entry = ManifestEntry(path, digest=digest, size=size, ref=uri)
        self._add_entry(entry, overwrite=False)
        return entry

    def add(self, obj: Any, name: str, overwrite: bool = False) -> ManifestEntry:
        """Add a media object (Table, Image...) as ``<name>.<type>.json``, with its files."""
        self._check_draft("add")
        from ..blobs import BlobStore
        from ..media.base import Media

        if not isinstance(obj, Media):
            raise MediaTypeError(
                f"Artifact.add() takes a localrun media object (Table, Image, ...), not "
                f"{type(obj).__name__}. Add files with add_file()"
            )
        path = check_entry_path(name)
        # wandb's suffixes: ``.table.json`` for a table, ``.image-file.json`` for an image...
        suffix = f".{'table' if obj._type == 'table-file' else obj._type}.json"
        if not path.endswith(suffix):
            path += suffix
        folder = tempfile.mkdtemp(dir=self._scratch())
        value = obj._encode(BlobStore(folder))
        for f in sorted(_files_under(folder)):
            self.add_file(
                os.path.join(folder, f),
                name=posixpath.join(posixpath.dirname(path), f),
                overwrite=True,
            )
        with self.new_file(path, mode="w" if overwrite else "x", encoding="utf-8") as out:
            json.dump(value, out, sort_keys=True)
        return self._manifest.entries[path]

    def _scratch(self) -> str:
        """A folder for the files new_file() and add() write, removed with the artifact."""
        if self._tmp is None:
            self._tmp = tempfile.mkdtemp(prefix="localrun-artifact-")
            weakref.finalize(self, shutil.rmtree, self._tmp, True)
        return self._tmp

    def _add_entry(self, entry: ManifestEntry, overwrite: bool) -> None:
        old = self._manifest.entries.get(entry.path)
        if (
            old is not None
            and not overwrite
            and old.local_path != entry.local_path
            and old.digest != entry.digest
        ):
            raise ArtifactError(
                f"Cannot add the same path twice: {entry.path!r} is in artifact {self._name!r} "
                "already, with other contents. Pass overwrite=True to replace it, or another name"
            )
        self._manifest.entries[entry.path] = entry

    def remove(self, item: str | ManifestEntry) -> None:
        """Remove a file, or every file under a folder, from the draft."""
        self._check_draft("remove")
        path = item.path if isinstance(item, ManifestEntry) else check_entry_path(item)
        entries = self._manifest.entries
        if path in entries:
            del entries[path]
            return
        under = [p for p in entries if p.startswith(path + "/")]
        if not under:
            raise FileNotFoundError(f"No such file or directory in the artifact: {path}")
        for p in under:
            del entries[p]

    def get_added_local_path_name(self, local_path: str) -> str | None:
        entry = self._added_local_paths.get(local_path)
        return entry.path if entry is not None else None

    # --- reading -------------------------------------------------------------------------------

    def get_entry(self, name: str | os.PathLike) -> ManifestEntry:
        """The entry at path ``name``; KeyError if there is none."""
        if not self._logged:
            raise ArtifactNotLoggedError(
                f"'Artifact.get_entry' used prior to logging artifact {self._name!r}. Log it first"
            )
        path = check_entry_path(name)
        entry = self._manifest.entries.get(path)
        if entry is None:
            raise KeyError(f"Path not contained in artifact {self.name}: {path}")
        return entry

    get_path = get_entry

    def get(self, name: str) -> Any:
        """The JSON value of a media object added with ``add(obj, name)``, or None."""
        self._logged_field("get", self._version)
        for path, entry in self._manifest.entries.items():
            if path == name or (path.startswith(name + ".") and path.endswith(".json")):
                with tempfile.TemporaryDirectory() as tmp:
                    with open(self._download_entry(entry, tmp, False), encoding="utf-8") as f:
                        return json.load(f)
        return None

    def _default_root(self) -> str:
        base = os.environ.get("LOCALRUN_ARTIFACT_DIR") or os.environ.get(
            "WANDB_ARTIFACT_DIR", "./artifacts"
        )
        return os.path.join(base, self.name)

    def download(
        self,
        root: str | os.PathLike | None = None,
        allow_missing_references: bool = False,
        skip_cache: bool | None = None,
        path_prefix: str | None = None,
        multipart: bool | None = None,
    ) -> str:
        """Copy the artifact's files to ``root`` (default ``./artifacts/<name>:<version>``);
        returns ``root``. A file already there with the right contents is left as it is."""
        self._logged_field("download", self._version)
        root = os.fspath(root) if root is not None else self._default_root()
        os.makedirs(root, exist_ok=True)
        for path, entry in sorted(self._manifest.entries.items()):
            if path_prefix is not None and not path.startswith(path_prefix):
                continue
            self._download_entry(entry, root, allow_missing_references)
        return root

    def _download_entry(
        self, entry: ManifestEntry, root: str, allow_missing_references: bool
    ) -> str:
        dest = os.path.join(root, *entry.path.split("/"))
        if entry.ref is not None:
            parts = urlsplit(entry.ref)
            local = unquote(parts.path)
            if parts.scheme == "file" and os.path.isfile(local):
                os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
                shutil.copyfile(local, dest)
                return dest
            if allow_missing_references:
                return dest
            raise ArtifactError(
                f"{self.name}: {entry.path!r} is a reference to {entry.ref!r}, which localrun "
                "records but does not fetch. Fetch it yourself, or pass "
                "allow_missing_references=True to download the rest"
            )
        if os.path.isfile(dest) and os.path.getsize(dest) == entry.size:
            if hash_file(dest)[0] == entry.digest:
                return dest
        self._home()[0].copy_out(entry.digest, dest, f"{self.name}/{entry.path}")
        return dest

    def file(self, root: str | os.PathLike | None = None) -> str:
        """Download a one-file artifact; returns the file's path."""
        self._logged_field("file", self._version)
        if len(self._manifest) != 1:
            raise ArtifactError(
                f"artifact {self.name} holds {len(self._manifest)} files, not one: call "
                "download() for all of them, or get_entry(path).download()"
            )
        (entry,) = self._manifest.entries.values()
        return entry.download(root)

    def verify(self, root: str | os.PathLike | None = None) -> None:
        """Check that ``root`` holds exactly this artifact's files, with their contents."""
        self._logged_field("verify", self._version)
        root = os.fspath(root) if root is not None else self._default_root()
        for rel in _files_under(root):
            if rel not in self._manifest.entries:
                raise ArtifactError(
                    f"Found file {rel!r} in {root} which is not a member of artifact {self.name}"
                )
        for path, entry in self._manifest.entries.items():
            if entry.ref is None:
                full = os.path.join(root, *path.split("/"))
                if not os.path.isfile(full) or hash_file(full)[0] != entry.digest:
                    raise ArtifactError(f"Digest mismatch for file: {path} (in {root})")

    def checkout(self, root: str | os.PathLike | None = None) -> str:
        """``download(root)``, after removing files in ``root`` that are not the artifact's."""
        self._logged_field("checkout", self._version)
        root = (
            os.fspath(root)
            if root is not None
            else os.path.join(os.path.dirname(self._default_root()), self._name)
        )
        for rel in _files_under(root) if os.path.isdir(root) else []:
            if rel not in self._manifest.entries:
                os.remove(os.path.join(root, *rel.split("/")))
        return self.download(root)

    def json_encode(self) -> dict[str, Any]:
        self._logged_field("json_encode", self._version)
        return {
            "_type": "artifactVersion",
            "name": self.name,
            "project": self._project,
            "version": self.version,
            "digest": self.digest,
        }

    # --- logged state (set by recording.py) ----------------------------------------------------

    def _mark_logged(
        self, store: Store, project: str, entity: str | None, coll: dict, version: dict
    ) -> None:
        self._logged = True
        self._store = store
        self._project = project
        self._entity = entity
        self._version = version["version"]
        self._digest = version["digest"]
        self._manifest_sha = version["manifest"]
        self._created_at = version.get("created_at")
        self._run_id = version.get("run")
        self._aliases = aliases_of(coll, version["version"])
        for entry in self._manifest.entries.values():
            entry._artifact = self


def from_version(store: Store, coll: dict, version: dict, entity: str | None = None) -> Artifact:
    """The logged artifact of ``version`` in the index ``coll``, read from its manifest."""
    doc = store.read_json(version["manifest"])
    artifact = Artifact.__new__(Artifact)
    Artifact.__init__(artifact, coll["name"], coll["type"])
    artifact._description = doc.get("description")
    artifact._metadata = doc.get("metadata") or {}
    for path, e in (doc.get("entries") or {}).items():
        entry = ManifestEntry(path, digest=e.get("digest"), size=e.get("size"), ref=e.get("ref"))
        artifact._manifest.entries[path] = entry
    artifact._mark_logged(store, coll["project"], entity, coll, version)
    return artifact


def _check_type(type_: Any, name: str) -> str:
    if type(type_) is not str or not 0 < len(type_) <= 128 or any(c in type_ for c in "/:"):
        raise ArtifactError(
            f"artifact type {type_!r} is not allowed: use 1-128 characters without '/' or ':', like 'model'"
        )
    if type_.startswith(_RESERVED_TYPE_PREFIX) or type_ == "job":
        raise ArtifactError(
            f"Artifact type {type_!r} is reserved for internal use. Please use a different type"
        )
    return type_


def _plain_metadata(metadata: Any) -> dict:
    if metadata is None:
        return {}
    if isinstance(metadata, str):
        metadata = json.loads(metadata) if metadata else {}
    if not isinstance(metadata, dict):
        raise ArtifactError(f"metadata must be a dict, not {type(metadata).__name__}")
    from ..config_summary import config_value

    return config_value(dict(metadata), "metadata")


def _files_under(root: str) -> list[str]:
    out = []
    for folder, _, files in os.walk(root):
        for f in files:
            out.append(os.path.relpath(os.path.join(folder, f), root).replace(os.sep, "/"))
    return out
