"""Verify: check every record's checksum and every media file's hash, in one run or many.

What counts as damage: a record that fails its checksum or does not decode, a media file whose
content does not hash to its name (an empty one, as a power loss can leave, included), and a
file that a record refers to but that is missing. A torn tail (the writer died mid-record) is
the expected end after a crash, not damage; it is listed separately, unless it is in fact a
whole record, too big for a reader to read.

Verify also reports each record holding a value outside the value contract
(``localrun.contract``: a key that is not a string, bytes, nesting deeper than
``MAX_DEPTH``, a logged ``_step``...): a run written before the recorder refused such
values at the call, or by hand. Such a record reads back, but a server refuses it.
"""

from __future__ import annotations

import hashlib
import json
import os
import zlib
from dataclasses import dataclass, field
from typing import Any

from localrun import rundir
from localrun.blobs import MEDIA_DIR
from localrun.contract import RESERVED_KEYS, value_problem
from localrun.durable import TEMP_PREFIX
from localrun.errors import RunDirError
from localrun.mediarefs import file_refs, hash_in_name, media_values
from localrun.reader import run_id
from localrun.record import kinds
from localrun.record.frame import HEADER, HEADER_SIZE, MAX_PAYLOAD_BYTES
from localrun.record.segment import SegmentReader
from localrun.replay import _short
from localrun.runfiles import hash_file, list_files, read_manifest

_CHUNK_BYTES = 1 << 20
_EMPTY = hashlib.sha256(b"").hexdigest()


@dataclass
class Problem:
    """One damaged record or file."""

    kind: str  # "record", "file", or "value" (a record holding a value a server refuses)
    where: str  # segment or file path, relative to the run directory
    reason: str
    offset: int | None = None
    key: str | None = None  # for "value": the top-level key that holds it

    def line(self, run_path: str) -> str:
        at = f" at byte {self.offset}" if self.offset is not None else ""
        return f"{os.path.join(run_path, self.where)}{at}: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "where": self.where, "reason": self.reason}
        if self.offset is not None:
            d["offset"] = self.offset
        if self.key is not None:
            d["key"] = self.key
        return d


@dataclass
class Report:
    """What verify found in one run."""

    path: str
    id: str
    segments: int = 0
    records: int = 0
    media_files: int = 0
    run_files: int = 0  # files under files/ (run.save(), what the script wrote into run.dir)
    problems: list[Problem] = field(default_factory=list)
    torn_tails: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": self.path,
            "ok": self.ok,
            "segments": self.segments,
            "records": self.records,
            "media_files": self.media_files,
            "run_files": self.run_files,
            "damaged": [p.to_json() for p in self.problems],
            "torn_tails": self.torn_tails,
        }


def verify_run(path: str) -> Report:
    """Check one run directory; never raises on damage, only reports it."""
    info = rundir.read_run_json(path)
    report = Report(path=path, id=run_id(path, info))
    referenced: dict[str, str | None] = {}
    for seg in rundir.segment_paths(path):
        report.segments += 1
        reader = SegmentReader(seg)
        rel = os.path.relpath(seg, path)
        problems = []
        for offset, rec, checked in reader:
            report.records += 1
            kind = rec[0]
            if checked:  # a sound log record: str keys, no bytes or None on top
                data = rec[3]
                if _CONTAINERS.isdisjoint(map(type, data.values())) and RESERVED_KEYS.isdisjoint(
                    data
                ):
                    continue  # scalars only: nothing to check, no media to refer to
                _collect_refs(data, referenced)
            elif kind in (kinds.LOG, kinds.SUMMARY, kinds.CONFIG):
                _collect_refs(rec[3], referenced)
            found = _value_problem(rec)
            if found is not None:
                key, reason = found
                problems.append(Problem("value", rel, reason, offset, key))
        for d in reader.damage:
            problems.append(Problem("record", rel, d.reason, d.offset))
        tail = reader.tail
        if tail is not None:
            whole = _whole_frame(seg, tail.offset, tail.size_bytes)
            if whole is not None:
                problems.append(
                    Problem(
                        "record",
                        rel,
                        f"a whole record of {whole:,} bytes, over the {MAX_PAYLOAD_BYTES:,} a "
                        "reader reads: it is not a torn tail, but it cannot be read or synced",
                        tail.offset,
                    )
                )
            else:
                report.torn_tails.append(
                    {"segment": rel, "offset": tail.offset, "size_bytes": tail.size_bytes}
                )
        problems.sort(key=_offset)
        report.problems.extend(problems)
    present = _check_media(path, report)
    _collect_refs_in_files(path, referenced, present)
    for ref, sha in sorted(referenced.items()):
        if ref not in present:
            report.problems.append(Problem("file", ref, "referenced by a record but missing"))
        elif (
            sha is not None
            and present[ref] is not None
            and present[ref] != sha
            and present[ref] != _EMPTY  # already reported as empty
        ):
            report.problems.append(
                Problem(
                    "file",
                    ref,
                    f"a record says its sha256 is {sha}, but the file's is {present[ref]}",
                )
            )
    _check_run_files(path, report)
    return report


def _check_run_files(path: str, report: Report) -> None:
    """Each file ``files.json`` lists is under ``files/`` and hashes to what it says; a file
    there that it does not list (put there by hand) is counted, not damage."""
    try:
        manifest = read_manifest(path)
    except RunDirError as exc:
        report.problems.append(Problem("file", rundir.FILES_JSON, str(exc)))
        manifest = {}
    present = set(list_files(path))
    report.run_files = len(present | set(manifest))
    for rel, entry in sorted(manifest.items()):
        where = f"{rundir.FILES_DIR}/{rel}"
        if rel not in present:
            report.problems.append(Problem("file", where, "saved with the run but missing"))
            continue
        try:
            sha, size = hash_file(os.path.join(path, rundir.FILES_DIR, *rel.split("/")))
        except OSError as exc:
            report.problems.append(Problem("file", where, f"unreadable: {exc.strerror or exc}"))
            continue
        if sha != entry["sha256"]:
            report.problems.append(
                Problem(
                    "file",
                    where,
                    f"its sha256 is {sha} ({size:,} bytes), but {rundir.FILES_JSON} says "
                    f"{entry['sha256']}: changed or damaged since it was saved",
                )
            )


_CONTAINERS = frozenset((dict, list))


def _offset(p: Problem) -> int:
    return p.offset or 0


def _value_problem(rec: Any) -> tuple[str | None, str] | None:
    """``(key, reason)`` when a record holds what the value contract does not allow, or None.

    ``key`` is the top-level key (as text) that holds it, None when the record as a whole is
    the problem (its data is not a map).
    """
    kind = rec[0]
    what = _WHAT.get(kind)
    if what is None:
        return None
    payload = rec[3]
    if kind in (kinds.METRIC, kinds.CHART):
        if type(rec[3]) is not str:
            return None, f"{what}'s name {_short(rec[3])} is not a string; a server refuses it"
        name, payload = rec[3], rec[4]
        if type(payload) is not dict:
            return name, f"{what} {name!r} is a {type(payload).__name__}, not a map"
        problem = value_problem(payload, repr(name), 0)
        return None if problem is None else (name, f"{what} value {problem}")
    if type(payload) is not dict:
        return None, f"{what} holds a {type(payload).__name__}, not a map: {_short(payload)}"
    for k, v in payload.items():
        if type(k) is not str:
            return _text(k), f"{what} key {_short(k)} ({type(k).__name__}) is not a string"
        if kind == kinds.LOG and k in RESERVED_KEYS:
            return k, f"{what} key {k!r} is one replay sets itself; a server refuses it"
        if type(v) in _SCALARS:
            continue
        problem = value_problem(v, repr(k), 0)
        if problem is not None:
            return k, f"{what} value {problem}"
    if kind == kinds.SUMMARY and rec[4] is not None:
        deleted = rec[4]
        if type(deleted) is not list or not all(type(k) is str for k in deleted):
            return None, f"{what} deletes {_short(deleted)}, not a list of string keys"
    return None


_WHAT = {
    kinds.LOG: "log()",
    kinds.CONFIG: "config",
    kinds.SUMMARY: "summary",
    kinds.META: "run metadata",
    kinds.METRIC: "define_metric",
    kinds.CHART: "chart",
}
_SCALARS = frozenset((str, float, int, bool, type(None)))


def _text(key: Any) -> str:
    try:
        return json.dumps(key, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        return _short(key)


def _whole_frame(seg: str, offset: int, size: int) -> int | None:
    """The payload length when a "torn tail" is in fact one whole frame, checksum and all,
    that is only too big for the reader (a record over its frame limit); else None."""
    if size < HEADER_SIZE:
        return None
    try:
        with open(seg, "rb") as f:
            f.seek(offset)
            length, crc = HEADER.unpack(f.read(HEADER_SIZE))
            if length <= MAX_PAYLOAD_BYTES or HEADER_SIZE + length > size:
                return None
            check = 0
            left = length
            while left:
                chunk = f.read(min(left, _CHUNK_BYTES))
                if not chunk:
                    return None
                check = zlib.crc32(chunk, check)
                left -= len(chunk)
    except OSError:
        return None
    return length if check == crc else None


def _check_media(path: str, report: Report) -> dict[str, str | None]:
    """Hash every media file; return {relative path: sha256 or None if unreadable}."""
    folder = os.path.join(path, MEDIA_DIR)
    present: dict[str, str | None] = {}
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return present
    for name in names:
        if name.startswith(TEMP_PREFIX):
            continue  # a write that never completed: no record refers to it
        rel = f"{MEDIA_DIR}/{name}"
        report.media_files += 1
        try:
            digest = _sha256_file(os.path.join(folder, name))
        except OSError as exc:
            present[rel] = None
            report.problems.append(Problem("file", rel, f"unreadable: {exc.strerror or exc}"))
            continue
        present[rel] = digest
        named = hash_in_name(name)
        if digest == _EMPTY and named != _EMPTY:
            report.problems.append(
                Problem(
                    "file",
                    rel,
                    "empty (0 bytes): its content never reached the disk (a power loss?). "
                    "Log it again if you still have it",
                )
            )
        elif named is not None and named != digest:
            report.problems.append(
                Problem("file", rel, f"content hash is {digest}, not the {named} its name says")
            )
    return present


def _collect_refs_in_files(path: str, referenced: dict, present: dict) -> None:
    """Media files can name others (a table's cells hold images): follow JSON files, once each."""
    seen: set[str] = set()
    todo = [r for r in referenced if r.endswith(".json")]
    while todo:
        ref = todo.pop()
        if ref in seen or ref not in present:
            continue
        seen.add(ref)
        try:
            with open(os.path.join(path, ref), encoding="utf-8") as f:
                value = json.load(f)
        except (OSError, ValueError):
            continue  # a damaged file is reported by its hash check
        before = set(referenced)
        _collect_refs(value, referenced)
        todo.extend(r for r in referenced if r not in before and r.endswith(".json"))


def _sha256_file(p: str) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        while chunk := f.read(_CHUNK_BYTES):
            h.update(chunk)
    return h.hexdigest()


def _collect_refs(value: Any, out: dict[str, str | None]) -> None:
    """Every file in the run's media folder that a value names (``localrun.mediarefs``), with
    the ``sha256`` beside it when it has one: ``{path: sha256 or None}``."""
    for media in media_values(value):
        for path, sha in file_refs(media):
            if path.startswith(_IN_MEDIA) and (sha is not None or path not in out):
                out[path] = sha


_IN_MEDIA = MEDIA_DIR + "/"
