"""Artifacts in a folder of runs: their files, stored once by content, and per name its versions.

::

    <runs root>/.artifacts/
      objects/<2 hex>/<sha256>      every file of every version (and every manifest), named by
                                    the sha256 of its bytes: a file shared by ten versions (a
                                    checkpoint's unchanged parts) is stored once
      tmp/.tmp-*                    files being added
      tmp.lock                      flock()ed shared by every process adding files; whoever gets
                                    it exclusively knows the files in tmp/ are leftovers of
                                    killed processes, and removes them
      stat-cache                    lines ``<device:inode:size:mtime:ctime> <sha256>``: a file added
                                    again unchanged (same inode, size and times) is not read again
      index/<project>/<name>.json   one artifact: its type, versions, aliases and users
      index/<project>/<name>.lock   flock()ed while a version or a use is added

A file is copied into ``tmp/`` a piece at a time (never read whole into memory) while it is
hashed, fsynced, then renamed to its hash (``durable.replace``): a process killed at any point
leaves the whole object or none under ``objects/``. With ``link=True`` (wandb's
``policy="immutable"``: the caller promises not to change the file) it is hard-linked instead of
copied where the filesystem allows. A file whose ``stat`` matches a line of ``stat-cache`` and whose object is stored is not read
again (a checkpoint folder logged every epoch costs only its changed files, in time as on
disk); a file changed less than ``RACY_S`` before it was read is not put in the cache, as git
does for "racily clean" files, since a change within the filesystem's timestamp resolution
would not show in its times. A version is added to the index only after all its
objects and its manifest are in place, under the name's lock, so two runs logging the same
name at once get distinct versions. docs/format.md, "Artifacts", is the specification.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator

from .. import durable
from ..errors import ArtifactError, ArtifactNotFoundError, DiskFullError, Error

#: The folder of artifacts in a runs root (a run id never starts with a dot: never a run).
ARTIFACTS_DIR = ".artifacts"
OBJECTS = "objects"
INDEX = "index"
TMP = "tmp"
#: Bytes read and written at a time: big enough to hash at full speed, small for memory.
CHUNK_BYTES = 4 * 1024 * 1024
#: Bytes the kernel copies per call: a kill between calls leaves a partial temporary file.
KERNEL_CHUNK_BYTES = 64 * 1024 * 1024
_NO_KERNEL_COPY = frozenset(
    e
    for e in (
        errno.EXDEV,
        errno.ENOSYS,
        errno.EINVAL,
        errno.EBADF,
        getattr(errno, "EOPNOTSUPP", None),
        getattr(errno, "ENOTSUP", None),
    )
    if e is not None
)
INDEX_FORMAT = 1
STAT_CACHE = "stat-cache"
#: A file changed this recently (seconds) is not remembered by its stat (see the docstring).
RACY_S = 2.0


def _disk_error(what: str, exc: OSError) -> Error:
    if exc.errno in durable.DISK_FULL_ERRNOS:
        return DiskFullError(
            exc.errno,
            f"cannot store {what}: the disk is full. Nothing of this artifact version was "
            "recorded; free some space and log it again",
        )
    return ArtifactError(f"cannot store {what}: {exc.strerror or exc}")


class Store:
    """The artifacts of one runs root: objects and the index."""

    def __init__(self, root: str):
        self.root = os.fspath(root)
        self.dir = os.path.join(self.root, ARTIFACTS_DIR)
        self.objects = os.path.join(self.dir, OBJECTS)
        self.index = os.path.join(self.dir, INDEX)
        self.tmp = os.path.join(self.dir, TMP)
        self._stat_cache: dict[str, str] | None = None

    # --- objects -------------------------------------------------------------------------------

    def object_path(self, sha256: str) -> str:
        return os.path.join(self.objects, sha256[:2], sha256)

    def has(self, sha256: str) -> bool:
        return os.path.isfile(self.object_path(sha256))

    def _ready(self) -> None:
        if not os.path.isdir(self.tmp):
            os.makedirs(self.tmp, exist_ok=True)
            os.makedirs(self.objects, exist_ok=True)
            os.makedirs(self.index, exist_ok=True)
        else:
            self.remove_leftovers()

    def _tmp_lock(self) -> int:
        return os.open(
            os.path.join(self.dir, "tmp.lock"),
            os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0),
            0o644,
        )

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Held (a shared flock) while this process has files in tmp/."""
        fd = self._tmp_lock()
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)

    def remove_leftovers(self) -> None:
        """Remove the files in tmp/ when no live process is adding any: those were left by
        processes killed mid-add."""
        try:
            if not os.listdir(self.tmp):
                return
            fd = self._tmp_lock()
        except OSError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return  # someone is adding files right now: next time
        try:
            for name in os.listdir(self.tmp):
                durable.discard(os.path.join(self.tmp, name))
        finally:
            os.close(fd)

    def put_file(self, src: str, link: bool = False) -> tuple[str, int]:
        """Store the file at ``src``; returns ``(sha256, size)``. Streams: memory stays flat."""
        self._ready()
        with self._writing():
            return self._put_file(src, link)

    def _put_file(self, src: str, link: bool) -> tuple[str, int]:
        try:
            st = os.stat(src)
        except OSError as exc:
            raise ArtifactError(f"cannot add {src!r}: {exc.strerror or exc}") from exc
        key = f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"
        known = self._stat_cached().get(key)
        if known is not None and self.has(known):
            return known, st.st_size
        sha, size = self._store_file(src, link)
        if time.time() - max(st.st_mtime, st.st_ctime) > RACY_S and size == st.st_size:
            self._remember(key, sha)
        return sha, size

    def _stat_cached(self) -> dict[str, str]:
        if self._stat_cache is None:
            cache: dict[str, str] = {}
            try:
                with open(os.path.join(self.dir, STAT_CACHE), encoding="ascii") as f:
                    for line in f:
                        parts = line.split()
                        if len(parts) == 2 and len(parts[1]) == 64:
                            cache[parts[0]] = parts[1]
            except (OSError, ValueError):
                pass
            self._stat_cache = cache
        return self._stat_cache

    def _remember(self, key: str, sha: str) -> None:
        """Append ``key sha`` to the stat cache: one small write with O_APPEND, whole."""
        self._stat_cached()[key] = sha
        try:
            fd = os.open(
                os.path.join(self.dir, STAT_CACHE),
                os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0),
                0o644,
            )
            try:
                os.write(fd, f"{key} {sha}\n".encode())
            finally:
                os.close(fd)
        except OSError:
            pass  # a cache: the next add reads the file again

    def _store_file(self, src: str, link: bool) -> tuple[str, int]:
        if link:
            stored = self._link(src)
            if stored is not None:
                return stored
        tmp: str | None  # None once placed
        try:
            fd, tmp = durable.temp_file(self.tmp, 0o444)
        except OSError as exc:
            raise _disk_error(src, exc) from exc
        try:
            try:
                with open(src, "rb", buffering=0) as f:
                    sha, size = copy_hashing(f, fd)
            except FileNotFoundError:
                raise ArtifactError(
                    f"cannot add {src!r}: the file is gone (it was there when it was added "
                    "to the artifact). Keep it until log_artifact() returns"
                ) from None
            except IsADirectoryError:
                raise ArtifactError(f"cannot add {src!r}: it is a folder; use add_dir()") from None
            except OSError as exc:
                if (
                    exc.filename == src
                    or exc.filename is None
                    and exc.errno
                    in (
                        errno.EACCES,
                        errno.EPERM,
                    )
                ):
                    raise ArtifactError(f"cannot read {src!r}: {exc.strerror or exc}") from exc
                raise _disk_error(src, exc) from exc
            self._place(tmp, sha, fd)
            tmp = None
            return sha, size
        finally:
            if tmp is not None:
                os.close(fd)
                durable.discard(tmp)

    def _place(self, tmp: str, sha: str, fd: int) -> None:
        """Rename the finished ``tmp`` (open as ``fd``) to object ``sha``, unless it is there."""
        final = self.object_path(sha)
        try:
            if os.path.exists(final):
                durable.discard(tmp)
                return
            folder = os.path.dirname(final)
            if not os.path.isdir(folder):
                os.makedirs(folder, exist_ok=True)
            # fsynced before the rename, folder after: a version never names a file a power
            # loss can take back.
            durable.replace(tmp, final, sync=True, sync_folder=True)
        except OSError as exc:
            durable.discard(tmp)
            raise _disk_error(f"artifact file {sha}", exc) from exc
        finally:
            os.close(fd)

    def _link(self, src: str) -> tuple[str, int] | None:
        """Hash ``src`` and hard-link it in as its object; None when it cannot be linked."""
        sha, size = hash_file(src)
        if self.has(sha):
            return sha, size
        tmp = os.path.join(self.tmp, f"{durable.TEMP_PREFIX}link-{os.urandom(8).hex()}")
        try:
            os.link(src, tmp)
        except OSError:
            return None  # another filesystem, or links not allowed: copied instead
        try:
            fd = os.open(tmp, os.O_RDONLY)
        except OSError:
            durable.discard(tmp)
            return None
        self._place(tmp, sha, fd)
        return sha, size

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` (a manifest) as an object; returns its sha256."""
        self._ready()
        sha = hashlib.sha256(data).hexdigest()
        final = self.object_path(sha)
        if not os.path.exists(final):
            try:
                os.makedirs(os.path.dirname(final), exist_ok=True)
                with self._writing():
                    durable.write(final, data, mode=0o444, temp_dir=self.tmp, sync_folder=True)
            except OSError as exc:
                raise _disk_error("the artifact's manifest", exc) from exc
        return sha

    def read_json(self, sha256: str) -> dict:
        """The JSON object stored as ``sha256`` (a manifest), checked against its hash."""
        path = self.object_path(sha256)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise ArtifactNotFoundError(
                f"the manifest {sha256[:16]}... is not in {self.objects}: this runs root does not "
                "hold that artifact's files (was the run copied here without its .artifacts folder?)"
            ) from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ArtifactError(f"{path} is damaged: its bytes do not hash to its name")
        return json.loads(data)

    def copy_out(self, sha256: str, dest: str, ref: str = "") -> None:
        """Copy object ``sha256`` to ``dest`` (whole or not at all), checking its hash."""
        src = self.object_path(sha256)
        folder = os.path.dirname(dest) or "."
        os.makedirs(folder, exist_ok=True)
        try:
            source = open(src, "rb", buffering=0)
        except FileNotFoundError:
            raise ArtifactNotFoundError(
                f"{ref or sha256}: its file {sha256[:16]}... is not in {self.objects}. "
                "Was the runs root copied without its .artifacts folder?"
            ) from None
        tmp: str | None  # None once in place
        fd, tmp = durable.temp_file(folder, 0o644)
        try:
            with source:
                got, _ = copy_hashing(source, fd)
            os.close(fd)
            fd = -1
            if got != sha256:
                raise ArtifactError(
                    f"{src} is damaged: its bytes hash to {got[:16]}..., not to its "
                    f"name, so {ref or dest} was not written. Log the artifact again"
                )
            durable.replace(tmp, dest, sync=False)
            tmp = None
        finally:
            if fd >= 0:
                os.close(fd)
            if tmp is not None:
                durable.discard(tmp)

    # --- the index -----------------------------------------------------------------------------

    def _index_path(self, project: str, name: str, ext: str = ".json") -> str:
        return os.path.join(self.index, project, name + ext)

    @contextlib.contextmanager
    def _locked(self, project: str, name: str) -> Iterator[None]:
        self._ready()
        os.makedirs(os.path.join(self.index, project), exist_ok=True)
        fd = os.open(
            self._index_path(project, name, ".lock"),
            os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0),
            0o644,
        )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def collection(self, project: str, name: str) -> dict | None:
        """What the index holds of artifact ``project/name``, or None."""
        try:
            with open(self._index_path(project, name), encoding="utf-8") as f:
                coll = json.load(f)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise ArtifactError(
                f"cannot read {self._index_path(project, name)}: {exc}. The artifact index is damaged"
            ) from exc
        return coll if type(coll) is dict else None

    def _write(self, coll: dict) -> None:
        path = self._index_path(coll["project"], coll["name"])
        try:
            durable.write(path, json.dumps(coll, indent=1, sort_keys=True).encode())
        except OSError as exc:
            raise _disk_error(f"the index of artifact {coll['name']!r}", exc) from exc

    def add_version(self, project: str, name: str, version: dict, aliases: list[str]) -> dict:
        """Add ``version`` (digest, manifest, size, file_count, type, run...) to ``project/name``
        and point ``aliases`` at it; returns the version entry (with its number).

        A version whose digest is the latest's is not added again, as in wandb: the aliases go
        to the latest version. Another type than the name's is refused.
        """
        with self._locked(project, name):
            coll = self.collection(project, name) or {
                "format": INDEX_FORMAT,
                "project": project,
                "name": name,
                "type": version["type"],
                "versions": [],
                "aliases": {},
                "used_by": {},
            }
            if coll["type"] != version["type"]:
                raise ArtifactError(
                    f"artifact {name!r} already exists with type {coll['type']!r}; cannot log a "
                    f"version of type {version['type']!r}. Use another name, or type={coll['type']!r}"
                )
            versions = coll["versions"]
            if versions and versions[-1]["digest"] == version["digest"]:
                entry = versions[-1]
            else:
                entry = {**version, "version": len(versions), "created_at": time.time()}
                versions.append(entry)
            for alias in aliases:
                if alias != "latest":
                    coll["aliases"][alias] = entry["version"]
            self._write(coll)
            return entry

    def add_use(self, project: str, name: str, version: int, run_id: str) -> None:
        """Record that run ``run_id`` used ``project/name`` version ``version`` (lineage)."""
        with self._locked(project, name):
            coll = self.collection(project, name)
            if coll is None:
                return
            users = coll.setdefault("used_by", {}).setdefault(str(version), [])
            if run_id not in users:
                users.append(run_id)
                self._write(coll)

    def resolve(self, project: str, name: str, ref: str) -> tuple[dict, dict]:
        """``(collection, version entry)`` for ``name:ref`` (``latest``, ``v3``, an alias)."""
        coll = self.collection(project, name)
        if coll is None or not coll.get("versions"):
            others = [f"{p}/{n}" for p, n, _ in self.names() if n == name and p != project]
            hint = f" It exists in {', '.join(others)}: name it so." if others else ""
            raise ArtifactNotFoundError(
                f"no artifact {name!r} in project {project!r} in {self.root}.{hint} "
                "`localrun artifacts list` shows what there is"
            )
        return coll, find_version(coll, ref, f"{project}/{name}")

    def names(self) -> list[tuple[str, str, str]]:
        """``(project, name, index file)`` of every artifact, sorted."""
        found = []
        try:
            projects = sorted(os.listdir(self.index))
        except OSError:
            return []
        for project in projects:
            folder = os.path.join(self.index, project)
            try:
                files = sorted(os.listdir(folder))
            except OSError:
                continue
            for f in files:
                if f.endswith(".json") and not f.startswith(durable.TEMP_PREFIX):
                    found.append((project, f[: -len(".json")], os.path.join(folder, f)))
        return found


def find_version(coll: dict, ref: str, what: str) -> dict:
    """The version of ``coll`` (a collection as the index or a server holds it) ``ref`` names."""
    from ..contract import version_number

    versions = coll.get("versions") or []
    number: int | None
    if ref == "latest":
        number = versions[-1]["version"] if versions else None
    else:
        number = version_number(ref)
        if number is None:
            number = coll.get("aliases", {}).get(ref)
    for v in versions:
        if v["version"] == number:
            return v
    known = [f"v{v['version']}" for v in versions[-5:]] + [
        "latest",
        *sorted(coll.get("aliases", {})),
    ]
    raise ArtifactNotFoundError(
        f"artifact {what} has no version or alias {ref!r}: it has {', '.join(known)}"
    )


def aliases_of(coll: dict, number: int) -> list[str]:
    """The aliases pointing at version ``number``, ``latest`` first when it is the latest."""
    versions = coll.get("versions") or []
    out = ["latest"] if versions and versions[-1]["version"] == number else []
    return out + sorted(a for a, v in coll.get("aliases", {}).items() if v == number)


def copy_hashing(source, fd: int) -> tuple[str, int]:
    """Copy the open binary file ``source`` to ``fd`` (a new file, open for reading and
    writing); returns ``(sha256, size)`` of the bytes written.

    The copy is made by the kernel (``copy_file_range``: no bytes through this process, and
    far less time than writes from user space under memory pressure), a piece at a time, then
    the copy itself is hashed from the page cache: the hash is of exactly the stored bytes,
    even if the source changes meanwhile. Where the kernel cannot copy (another filesystem on
    an old kernel, a special file), ``copy_hashing_through`` does it here.
    """
    copy_range = getattr(os, "copy_file_range", None)
    if copy_range is None:
        return copy_hashing_through(source, fd)
    src = source.fileno()
    size = 0
    try:
        while True:
            n = copy_range(src, fd, KERNEL_CHUNK_BYTES)
            if n == 0:
                break
            size += n
    except OSError as exc:
        if exc.errno not in _NO_KERNEL_COPY or size:
            raise
        return copy_hashing_through(source, fd)
    digest = hashlib.sha256()
    offset = 0
    while offset < size:
        chunk = os.pread(fd, CHUNK_BYTES, offset)
        if not chunk:
            break
        digest.update(chunk)
        offset += len(chunk)
    return digest.hexdigest(), size


def copy_hashing_through(source, fd: int) -> tuple[str, int]:
    """``copy_hashing`` through this process: read, written and hashed a piece at a time.

    A large file is hashed on a worker thread while this one reads and writes (hashlib and
    os.write both release the interpreter). At most two pieces are held at once.
    """
    digest = hashlib.sha256()
    size = 0
    chunk = source.read(CHUNK_BYTES)
    if len(chunk) < CHUNK_BYTES:  # a small file: no thread
        digest.update(chunk)
        _write_all(fd, chunk)
        return digest.hexdigest(), len(chunk)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="localrun-hash") as pool:
        pending = None
        while chunk:
            if pending is not None:
                pending.result()
            pending = pool.submit(digest.update, chunk)
            _write_all(fd, chunk)
            size += len(chunk)
            chunk = source.read(CHUNK_BYTES)
        assert pending is not None  # the first chunk was a full one: the loop ran
        pending.result()
    return digest.hexdigest(), size


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def hash_file(path: str) -> tuple[str, int]:
    """``(sha256, size)`` of the file at ``path``, read a piece at a time."""
    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb", buffering=0) as f:
            while chunk := f.read(CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise ArtifactError(f"cannot read {path!r}: {exc.strerror or exc}") from exc
    return digest.hexdigest(), size
