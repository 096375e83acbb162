"""Verify: check every record's checksum and every media file's hash, in one run or many.

What counts as damage: a record that fails its checksum or does not decode, a media file whose
content does not hash to its name, and a file that a record refers to but that is missing.
A torn tail (the writer died mid-record) is the expected end after a crash, not damage; it is
listed separately.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from localrun import rundir
from localrun.blobs import MEDIA_DIR
from localrun.record import kinds
from localrun.record.segment import SegmentReader

_BLOB = re.compile(r"^([0-9a-f]{64})\.[a-z0-9.]+$")
_CHUNK_BYTES = 1 << 20


@dataclass
class Problem:
    """One damaged record or file."""

    kind: str  # "record" or "file"
    where: str  # segment or file path, relative to the run directory
    reason: str
    offset: int | None = None

    def line(self, run_path: str) -> str:
        at = f" at byte {self.offset}" if self.offset is not None else ""
        return f"{os.path.join(run_path, self.where)}{at}: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "where": self.where, "reason": self.reason}
        if self.offset is not None:
            d["offset"] = self.offset
        return d


@dataclass
class Report:
    """What verify found in one run."""

    path: str
    id: str
    segments: int = 0
    records: int = 0
    media_files: int = 0
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
            "damaged": [p.to_json() for p in self.problems],
            "torn_tails": self.torn_tails,
        }


def verify_run(path: str) -> Report:
    """Check one run directory; never raises on damage, only reports it."""
    info = rundir.read_run_json(path)
    report = Report(path=path, id=str(info.get("id") or os.path.basename(os.path.normpath(path))))
    referenced: dict[str, str | None] = {}
    for seg in rundir.segment_paths(path):
        report.segments += 1
        reader = SegmentReader(seg)
        rel = os.path.relpath(seg, path)
        for _, rec in reader:
            report.records += 1
            if rec[0] in (kinds.LOG, kinds.SUMMARY, kinds.CONFIG):
                _collect_refs(rec[3], referenced)
        for d in reader.damage:
            report.problems.append(Problem("record", rel, d.reason, d.offset))
        if reader.tail is not None:
            report.torn_tails.append(
                {"segment": rel, "offset": reader.tail.offset, "size_bytes": reader.tail.size_bytes}
            )
    present = _check_media(path, report)
    _collect_refs_in_files(path, referenced, present)
    for ref, sha in sorted(referenced.items()):
        if ref not in present:
            report.problems.append(Problem("file", ref, "referenced by a record but missing"))
        elif sha is not None and present[ref] is not None and present[ref] != sha:
            report.problems.append(
                Problem(
                    "file",
                    ref,
                    f"a record says its sha256 is {sha}, but the file's is {present[ref]}",
                )
            )
    return report


def _check_media(path: str, report: Report) -> dict[str, str | None]:
    """Hash every media file; return {relative path: sha256 or None if unreadable}."""
    folder = os.path.join(path, MEDIA_DIR)
    present: dict[str, str | None] = {}
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return present
    for name in names:
        if name.startswith(".tmp-"):
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
        m = _BLOB.match(name)
        if m and m.group(1) != digest:
            report.problems.append(
                Problem(
                    "file", rel, f"content hash is {digest}, not the {m.group(1)} its name says"
                )
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
    """Every media file a value names: ``path`` (with its ``sha256``) and ``filenames``."""
    if type(value) is dict:
        p = value.get("path")
        if type(p) is str and p.startswith(MEDIA_DIR + "/"):
            sha = value.get("sha256")
            out[p] = sha if type(sha) is str else None
        names = value.get("filenames")
        if type(names) is list:
            shas = value.get("sha256s")
            shas = shas if type(shas) is list and len(shas) == len(names) else [None] * len(names)
            for n, sha in zip(names, shas, strict=True):
                if type(n) is str and n.startswith(MEDIA_DIR + "/"):
                    out[n] = sha if type(sha) is str else out.get(n)
        for v in value.values():
            if type(v) in (dict, list):
                _collect_refs(v, out)
    elif type(value) is list:
        for v in value:
            if type(v) in (dict, list):
                _collect_refs(v, out)
