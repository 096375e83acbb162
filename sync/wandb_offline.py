"""A run as a wandb offline run directory, for ``wandb sync DIR`` to upload to W&B.

``localrun export RUN --format wandb -o DIR`` writes what wandb's own offline mode
(``WANDB_MODE=offline``) leaves behind, so ``wandb sync DIR`` (or ``wandb sync`` against a
self-hosted W&B server) uploads it as it would upload a run wandb recorded itself::

    DIR/offline-run-<YYYYmmdd_HHMMSS>-<run id>/    (the time: the run's creation, UTC)
        run-<run id>.wandb                         the transaction log
        files/<path>                               each media file, at the path its value names
        logs/                                      empty (wandb keeps its debug logs there)

The transaction log is wandb's: records of ``wandb.proto.wandb_internal_pb2`` (the wandb
package's own protobuf definitions), framed as wandb frames them, which is LevelDB's log
format (32 KiB blocks; each chunk a 7-byte header of CRC-32, length and type, the CRC being
zlib's over the type byte and the data) after a 7-byte file header (``:W&B``, magic 0xBEE1,
version 0). The wandb package holds no Python writer for that framing any more (wandb-core,
its Go service, writes the log), so the framing is written here, and the tests read it back
with wandb's parser of the records and check ``wandb sync`` finds the run.

The records, in the order wandb 0.31's offline mode writes them: a header; the run (id,
project, name, group, job type, notes, tags, config, start time); for each history row, a
files record naming the media files it is the first to name, then the history record
(every key of the row with its value as JSON, ``_step``, ``_runtime`` and ``_timestamp``
included, and the step); then the summary as localrun's replay made it; then, for a
preempted run, a preempting record; then the exit (exit code and runtime), unless the run is
still being written.

What does not carry over, docs/sync.md says: the run's entity (``wandb sync --entity``),
define_metric specs, charts made with ``localrun.plot.*`` (their tables do), system metrics
and console output (localrun records none), and the artifact wandb makes of a logged table.
"""

from __future__ import annotations

import datetime
import json
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from localrun import __version__

from .exportdir import MediaFiles, need, prepare
from .protocol import SYNCING

#: The optional extra that brings the wandb package: ``pip install 'localrun[wandb]'``.
EXTRA = "wandb"

# LevelDB's log format, as wandb uses it (its header first).
_FILE_HEADER = b":W&B" + struct.pack("<HB", 0xBEE1, 0)
_BLOCK = 32768
_CHUNK_HEADER = 7
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


class TransactionLog:
    """Writes records to a wandb transaction log (``run-<id>.wandb``)."""

    def __init__(self, f) -> None:
        self.f = f
        f.write(_FILE_HEADER)
        self.offset = len(_FILE_HEADER)  # in the current block

    def append(self, data: bytes) -> None:
        """One record's bytes, split into chunks that each fit in what is left of a block."""
        write = self.f.write
        first = True
        while True:
            room = _BLOCK - self.offset
            if room < _CHUNK_HEADER:  # too little left for a chunk header: pad to the next block
                write(b"\0" * room)
                self.offset = 0
                room = _BLOCK
            take = min(room - _CHUNK_HEADER, len(data))
            chunk, data = data[:take], data[take:]
            last = not data
            kind = _FULL if first and last else _FIRST if first else _LAST if last else _MIDDLE
            crc = zlib.crc32(chunk, zlib.crc32(bytes((kind,))))
            write(struct.pack("<IHB", crc, len(chunk), kind))
            write(chunk)
            self.offset += _CHUNK_HEADER + len(chunk)
            first = False
            if last:
                return


@dataclass
class WandbExport:
    """What an export wrote: the run folder, the rows and media files in it, what was left out."""

    run_dir: str
    rows: int = 0
    files: int = 0
    size_bytes: int = 0
    missing: list[tuple[str, str]] = field(default_factory=list)
    running: bool = False


def _plain_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def export_wandb(
    open_view: Callable[[], Any],
    out_dir: str,
    dumps: Callable[[Any], str] = _plain_json,
    producer: str = f"localrun {__version__}",
) -> WandbExport:
    """Write a run into ``out_dir`` (new or empty) as a wandb offline run directory.

    ``open_view()`` gives a fresh view of the run (a ``RunView`` or ``RemoteRunView``); it is
    called twice, since the log starts with the run's config, which a run directory gives only
    once its records are replayed. ``dumps`` writes a value as JSON text (NaN and the
    infinities as ``NaN``, ``Infinity``, ``-Infinity``, as wandb writes them).
    """
    pb = need("wandb.proto.wandb_internal_pb2", EXTRA)
    prepare(out_dir)
    first = open_view().scan().to_json()
    view = open_view()
    media = MediaFiles(view)
    run_id = view.id
    created = first.get("created_at")
    created = float(created) if type(created) in (int, float) and created > 0 else 0.0
    try:
        stamp = datetime.datetime.fromtimestamp(created, datetime.timezone.utc)
    except (OverflowError, OSError, ValueError):  # a time no calendar holds: the epoch
        created = 0.0
        stamp = datetime.datetime.fromtimestamp(0, datetime.timezone.utc)
    run_dir = os.path.join(out_dir, f"offline-run-{stamp:%Y%m%d_%H%M%S}-{run_id}")
    files_dir = os.path.join(run_dir, "files")
    os.makedirs(files_dir)
    os.makedirs(os.path.join(run_dir, "logs"))
    result = WandbExport(run_dir)
    written: set[str] = set()
    num = 0

    def key_text(k: Any) -> str:
        return k if type(k) is str else dumps(k)

    def value_json(v: Any) -> str:
        # Finite floats and ints (most values of most rows) as the json module writes them,
        # without a call into it; everything else through ``dumps``.
        t = type(v)
        if t is float and v - v == 0.0:  # not NaN, not an infinity
            return float.__repr__(v)
        if t is int:
            return int.__repr__(v)
        return dumps(v)

    def items(section: dict, item) -> list:
        return [item(key=key_text(k), value_json=value_json(v)) for k, v in section.items()]

    with open(os.path.join(run_dir, f"run-{run_id}.wandb"), "wb") as f:
        log = TransactionLog(f)

        def emit(stream: bool = False, **kind: Any) -> None:
            nonlocal num
            num += 1
            record = pb.Record(num=num, **kind)
            if stream:  # as wandb marks its run and exit records
                record._info.stream_id = run_id
            log.append(record.SerializeToString())

        emit(header=pb.HeaderRecord(version_info=pb.VersionInfo(producer=producer)))
        emit(
            run=_run_record(pb, first, run_id, created, items(first["config"], pb.ConfigItem)),
            stream=True,
        )

        def copy_files(value: Any) -> None:
            """Copy the files ``value`` names that no earlier value named, and say so in a
            files record (as wandb does, before the record that names them)."""
            new = []
            for path, sha in media.refs(value):
                if path in written:
                    continue
                written.add(path)
                data = media.read(path, sha)
                if data is not None:
                    _put(files_dir, path, data)
                    result.files += 1
                    result.size_bytes += len(data)
                    new.append(pb.FilesItem(path=path))
            if new:
                emit(files=pb.FilesRecord(files=new))

        for row in view.rows():
            copy_files(row)
            history = pb.HistoryRecord(item=items(row, pb.HistoryItem))
            step = row.get("_step")
            if type(step) is int:
                history.step.num = step
            emit(history=history)
            result.rows += 1
        doc = view.to_json()
        if doc["config"] != first["config"]:  # a live run's config changed between the reads
            emit(config=pb.ConfigRecord(update=items(doc["config"], pb.ConfigItem)))
        if doc["summary"]:
            copy_files(doc["summary"])
            emit(summary=pb.SummaryRecord(update=items(doc["summary"], pb.SummaryItem)))
        state = doc.get("state")
        if state in ("running", SYNCING):
            result.running = True  # no exit record: wandb sync sees a run still being written
        else:
            code = doc.get("exit_code")
            if type(code) is not int:
                code = 0 if state == "finished" else 1
            runtime = doc.get("runtime")
            seconds = int(runtime) if type(runtime) is float or type(runtime) is int else 0
            if state == "preempted":  # as wandb records a run its scheduler stopped
                emit(preempting=pb.RunPreemptingRecord())
            emit(exit=pb.RunExitRecord(exit_code=code, runtime=seconds), stream=True)
    result.missing = media.missing
    return result


def _run_record(pb, doc: dict, run_id: str, created: float, config: list):
    run = pb.RunRecord(run_id=run_id, config=pb.ConfigRecord(update=config))
    for name, value in (
        ("project", doc.get("project")),
        ("display_name", doc.get("name")),
        ("run_group", doc.get("group")),
        ("job_type", doc.get("job_type")),
        ("notes", doc.get("notes")),
    ):
        if type(value) is str and value:
            setattr(run, name, value)
    tags = doc.get("tags")
    if type(tags) is list:
        run.tags.extend(str(t) for t in tags)
    if created:
        run.start_time.FromNanoseconds(int(created * 1e9))
    return run


def _put(files_dir: str, path: str, data: bytes) -> None:
    """A media file under ``files/``, at the path its value names."""
    full = os.path.join(files_dir, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data)
