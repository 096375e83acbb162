"""Run directories written by hand: records the recorder would refuse today, as older versions
(or a person with msgpack) could have written them."""

from __future__ import annotations

import json
import os

import msgpack

from localrun import rundir
from localrun.record import kinds
from localrun.record.segment import SegmentWriter

T0 = 1_700_000_000.0


_AT_SEQ = object()


def log(data, seq=1, step=None, commit=None, writer_step=0, t=_AT_SEQ):
    """A ``log()`` record: ``[1, seq, time, data, step, commit, writer_step]``; its time is
    ``T0 + seq`` unless ``t`` says otherwise."""
    return (kinds.LOG, seq, T0 + seq if t is _AT_SEQ else t, data, step, commit, writer_step)


def write_run(path, records, run_json=None, finish=True, header=None) -> str:
    """A run directory at ``path`` with one segment holding ``records`` (tuples, packed as
    they are: a tuple inside a map key becomes an array key), after a START record."""
    os.makedirs(os.path.join(path, rundir.SEGMENTS))
    meta = (
        run_json
        if run_json is not None
        else {"format": 1, "id": os.path.basename(path), "project": "p", "created_at": T0}
    )
    with open(os.path.join(path, rundir.RUN_JSON), "w", encoding="utf-8") as f:
        f.write(meta if isinstance(meta, str) else json.dumps(meta))
    head = {"time": T0, "project": "p", "name": "hand", **(header or {})}
    writer = SegmentWriter(rundir.next_segment_path(path), head, fsync_interval_s=3600)
    try:
        for rec in records:
            writer.append(rec if isinstance(rec, bytes) else msgpack.packb(rec, datetime=True))
        if finish:
            writer.append(msgpack.packb((kinds.FINISH, 10**6, T0 + 10**6, 0, "finished", 0)))
    finally:
        writer.close()
    return path
