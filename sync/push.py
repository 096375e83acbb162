"""Pushing runs to a remote: replay, batch, send, and advance the cursor only on acknowledgement.

For one run: create it on the remote (``upsert_run``), replay it with the same code as
``show``/``export`` and skip the rows at or below the cursor, send the rest in batches (each
batch's media files first, only those the remote lacks), move the cursor after each
acknowledged batch, and send the run document (config, summary, state...) last. A run is
marked synced only when all of that was acknowledged and the run is no longer being written.

Replay and packing run on this thread while a sender thread talks to the remote, so replay
runs ahead of the sends (by up to ``IN_FLIGHT`` batches and ``IN_FLIGHT_BYTES``). Rows are sent
strictly in step order, one batch at a time, which is what lets one number (the cursor's
``last_step``) say what the remote has.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import msgspec

from localrun import rundir
from localrun.errors import Error, RemoteRejectedError, SyncError

from . import mediarefs
from .cursor import Cursor, SyncLock
from .reader import RunView
from .remote import Remote

BATCH_ROWS = 10_000
BATCH_BYTES = 16 * 1024 * 1024  # well under the server's default 64 MiB body limit
# Batches packed ahead of the remote's acknowledgements. Deep enough that replay goes on while
# the media folder is uploaded first (half a second for a thousand small files, each fsynced by
# the server) and while the remote is briefly slower; bounded in bytes, for memory.
IN_FLIGHT = 32
IN_FLIGHT_BYTES = 24 * 1024 * 1024
UPLOADS = 8  # uploads at once
BUNDLE_BYTES = 4 * 1024 * 1024  # small media files go in bundles of up to this much
BUNDLE_FILES = 1000
BUNDLE_FILE_BYTES = 1024 * 1024  # larger files are uploaded alone, streamed
COLLECT_EVERY = 8  # batches between garbage collections (see push_run)
SWITCH_INTERVAL_S = 0.001  # while pushing (see push_run)

# msgspec packs a batch about three times as fast as msgpack.packb, to the same bytes.
_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder().decode

Progress = Callable[..., None]  # progress(rows=0, bytes=0, files=0)


def _noop(**_: int) -> None:
    pass


@dataclass
class PushResult:
    """What one run's sync did; ``error`` is set when it did not complete."""

    path: str
    run_id: str
    project: str
    url: str
    state: str | None = None
    rows_sent: int = 0  # rows acknowledged during this sync
    rows_total: int = 0  # rows the remote holds for the run
    bytes_sent: int = 0
    files_sent: int = 0
    file_bytes_sent: int = 0
    dropped: int = 0
    held_back: int = 0  # a live writer's pending row, left for the next sync
    up_to_date: bool = False
    synced: bool = False
    dry_run: bool = False
    error: Error | None = None
    files_seen: set = field(default_factory=set, repr=False)


def run_identity(path: str) -> tuple[str, str, float | None]:
    """``(project, run id, created_at)`` as the remote keys the run."""
    info = rundir.read_run_json(path)
    run_id = str(info.get("id") or os.path.basename(os.path.normpath(path)))
    project = str(info.get("project") or "uncategorized")
    created = info.get("created_at")
    return project, run_id, created if type(created) in (int, float) else None


def _segment_sizes(path: str) -> dict[str, int]:
    sizes = {}
    for seg in rundir.segment_paths(path):
        try:
            sizes[os.path.basename(seg)] = os.path.getsize(seg)
        except OSError:
            pass
    return sizes


def push_run(
    path: str,
    remote: Remote,
    *,
    dry_run: bool = False,
    batch_rows: int | None = None,
    batch_bytes: int = BATCH_BYTES,
    progress: Progress = _noop,
) -> PushResult:
    """Sync the run at ``path`` to ``remote``. Raises nothing of ours: errors land in ``result.error``."""
    batch_rows = batch_rows or int(os.environ.get("LOCALRUN_SYNC_BATCH_ROWS") or BATCH_ROWS)
    try:
        project, run_id, created_at = run_identity(path)
    except Error as exc:
        return PushResult(path, os.path.basename(os.path.normpath(path)), "", "", error=exc)
    result = PushResult(path, run_id, project, remote.run_url(project, run_id), dry_run=dry_run)
    # Replay makes a dict per row and no reference cycles: the cyclic collector, triggered
    # by all those allocations, would only cost time (a quarter of it, on a million rows).
    # httpx's request objects do form cycles (holding each batch's body), so _submit collects
    # every few batches.
    collecting = gc.isenabled()
    gc.disable()
    # The sender thread mostly waits on the remote; each time it wakes (an answer, a file read)
    # it needs the GIL, which replay, on this thread, gives up only every switch interval: 5 ms
    # by default, several times per batch and per media file. 1 ms shortens the sends.
    switch = sys.getswitchinterval()
    sys.setswitchinterval(min(switch, SWITCH_INTERVAL_S))
    try:
        with contextlib.ExitStack() as held:
            _Push(path, remote, result, batch_rows, batch_bytes, progress, held).run(created_at)
    except Error as exc:
        result.error = exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        # Unreadable files, or a server answering in a shape we did not expect: this run
        # failed, and the others still get their turn.
        result.error = SyncError(f"{type(exc).__name__}: {exc}")
        result.error.__cause__ = exc
    finally:
        sys.setswitchinterval(switch)
        if collecting:
            gc.enable()
    return result


class _Push:
    def __init__(
        self,
        path: str,
        remote: Remote,
        result: PushResult,
        batch_rows: int,
        batch_bytes: int,
        progress: Progress,
        held: contextlib.ExitStack,
    ):
        self.held = held
        self.path = path
        self.remote = remote
        self.result = result
        self.batch_rows = batch_rows
        self.batch_bytes = batch_bytes
        self.progress = progress
        self.cursor = Cursor.load(path, remote.base_url)
        self.known: set[str] = set()  # hashes the remote is known to hold
        self.failed = False  # a batch failed: later batches must not move the cursor past it
        self.failure: BaseException | None = None  # ...and this is why; replay stops early
        # Once the media folder of a run that is not being written was uploaded, every file its
        # rows can name is on the remote: batches need no walk for references. A live run can
        # add files at any time, so its batches are walked.
        self.walk_batches = True
        self.batches = 0

    def run(self, created_at: float | None) -> None:
        r = self.result
        sizes = _segment_sizes(self.path)
        live = rundir.is_locked(self.path)
        cursor = self.cursor
        if not r.dry_run:
            there = self.remote.upsert_run(r.project, r.run_id, created_at)
            # Only once the remote answered: a sync that cannot reach it writes nothing here.
            self.held.enter_context(SyncLock(self.path, self.remote.base_url))
            cursor = self.cursor = Cursor.load(self.path, self.remote.base_url)
            if cursor.last_step is not None and (
                there.get("last_step") is None or there["last_step"] < cursor.last_step
            ):
                # The remote holds less than this cursor says (a different or a wiped server
                # at the same URL): start over. Rows it has are ignored, so this is exact.
                cursor = self.cursor = Cursor(url=cursor.url)
            if (
                cursor.synced
                and not live
                and cursor.segments == sizes
                and there.get("rows") == cursor.rows
            ):
                r.up_to_date = r.synced = True
                r.rows_total = cursor.rows
                return
        elif cursor.synced and not live and cursor.segments == sizes:
            r.up_to_date = r.synced = True
            r.rows_total = cursor.rows
            return
        view = RunView(self.path)
        after = cursor.last_step if cursor.last_step is not None else -1
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="localrun-sync") as sender:
            in_flight: list[tuple[Future, int]] = []  # (the send, its body's size)
            if not r.dry_run:
                # First on the sender thread, so before any batch: the media folder, while
                # this thread starts replaying.
                preload = sender.submit(self._send_media_folder, self._media_folder())
                self.walk_batches = live
            rows = view.rows(final_only=True)
            if after >= 0:  # steps increase: once past the cursor, every row is new
                rows = itertools.dropwhile(lambda row: row["_step"] <= after, rows)
            # islice, not a loop appending row by row: this runs a million times for a
            # million-row run, and in C it costs next to nothing.
            size = self.batch_rows
            while batch := list(itertools.islice(rows, size)):
                self._submit(sender, in_flight, batch)
            while in_flight:
                in_flight.pop(0)[0].result()
            if not r.dry_run:
                preload.result()
        r.state = view.state
        r.dropped = len(view.replay.dropped)
        r.held_back = len(view.held_back)
        if r.dry_run:
            return
        doc = view.to_json()
        doc["path"] = r.url  # not the local folder: the server reports its own URL here anyway
        self._send_files(doc)
        there = self.remote.set_doc(r.project, r.run_id, doc)
        r.rows_total = there.get("rows", 0)
        finished = r.state != "running" and not r.held_back
        cursor.rows = r.rows_total
        cursor.synced = finished
        cursor.segments = sizes if finished else {}
        cursor.save(self.path)
        r.synced = finished

    # --- batches -------------------------------------------------------------------------------

    def _submit(
        self, sender: ThreadPoolExecutor, in_flight: list[tuple[Future, int]], batch: list[dict]
    ) -> None:
        if self.failure is not None:
            raise self.failure  # no point replaying the rest of a run that cannot be sent
        self.batches += 1
        if self.batches % COLLECT_EVERY == 0:
            gc.collect(0)  # everything made since the collector was paused is in generation 0
        for body, rows, last_step in self._bodies(batch):
            files: dict[str, str] = {}
            if self.walk_batches and (
                b"sha256" in body or b"filenames" in body
            ):  # cheap test first
                for row in rows:
                    mediarefs.collect(row, files)
            if self.result.dry_run:
                self._count_dry(files, len(rows), len(body))
                continue
            while in_flight and (
                in_flight[0][0].done()
                or len(in_flight) >= IN_FLIGHT
                or sum(n for _, n in in_flight) + len(body) > IN_FLIGHT_BYTES
            ):
                in_flight.pop(0)[0].result()  # re-raises the sender's error here
            in_flight.append(
                (sender.submit(self._send, body, len(rows), last_step, files), len(body))
            )

    def _bodies(self, rows: list[dict]):
        """msgpack arrays of ``rows``, halved until each fits in ``batch_bytes``."""
        body = _encode(rows)
        if len(body) <= self.batch_bytes or len(rows) == 1:
            yield body, rows, rows[-1]["_step"]
            return
        half = len(rows) // 2
        yield from self._bodies(rows[:half])
        yield from self._bodies(rows[half:])

    def _send(self, body: bytes, n_rows: int, last_step: int, files: dict[str, str]) -> None:
        """On the sender thread: media first, then the rows, then the cursor."""
        if self.failed:
            return
        r = self.result
        try:
            self._send_files_now(files)
            try:
                self.remote.append_rows(r.project, r.run_id, body)
            except RemoteRejectedError as exc:
                if exc.status != 409:
                    raise
                # The rows name a file the remote lacks (one that appeared after the media
                # folder was sent): send what they name, then the rows again.
                files = {}
                mediarefs.collect(_decode(body), files)
                self.known.difference_update(files)
                self._send_files_now(files)
                self.remote.append_rows(r.project, r.run_id, body)
        except BaseException as exc:
            self.failed = True
            self.failure = exc
            raise
        self.cursor.last_step = last_step
        self.cursor.synced = False
        self.cursor.save(self.path)
        r.rows_sent += n_rows
        r.bytes_sent += len(body)
        self.progress(rows=n_rows, bytes=len(body))

    def _count_dry(self, files: dict[str, str], n_rows: int, n_bytes: int) -> None:
        r = self.result
        r.rows_sent += n_rows
        r.bytes_sent += n_bytes
        for sha, rel in files.items():
            if sha not in r.files_seen:
                r.files_seen.add(sha)
                r.files_sent += 1
                r.file_bytes_sent += os.path.getsize(mediarefs.local_file(self.path, rel))

    # --- media ---------------------------------------------------------------------------------

    def _media_folder(self) -> dict[str, tuple[str, int]]:
        """The run's media files, ``{sha256: (path, size)}``.

        Listed on the main thread before replay starts: on the sender thread, with replay
        holding the interpreter, each stat waited for its turn, and a thousand files took
        0.2-0.5 s.
        """
        found = {}
        try:
            with os.scandir(os.path.join(self.path, mediarefs.MEDIA_DIR)) as entries:
                for entry in entries:
                    sha = mediarefs.hash_in_name(entry.name)
                    if sha is not None and entry.is_file():
                        found[sha] = (entry.path, entry.stat().st_size)
        except OSError:
            pass
        return found

    def _send_media_folder(self, media: dict[str, tuple[str, int]]) -> None:
        """Upload the run's media files the remote lacks, all at once, before replay starts.

        Asking per batch would mean a round trip per batch, each one waiting on replay for the
        interpreter; this way the files go out in parallel from the start. Batches of a live run
        are still checked, for files that appear meanwhile.
        """
        try:
            unknown = [h for h in media if h not in self.known]
            if unknown:
                missing = self.remote.missing_blobs(unknown)
                self._upload(
                    missing, {h: media[h][0] for h in missing}, {h: media[h][1] for h in missing}
                )
                self.known.update(unknown)
        except BaseException as exc:
            self.failed = True
            self.failure = exc
            raise

    def _send_files(self, value) -> None:
        files: dict[str, str] = {}
        mediarefs.collect(value, files)
        self._send_files_now(files)

    def _send_files_now(self, files: dict[str, str]) -> None:
        unknown = [h for h in files if h not in self.known]
        if not unknown:
            return
        local = {h: mediarefs.local_file(self.path, files[h]) for h in unknown}
        missing = self.remote.missing_blobs(unknown)
        self._upload(missing, local, {sha: os.path.getsize(local[sha]) for sha in missing})
        self.known.update(unknown)

    def _upload(self, missing: list[str], local: dict[str, str], sizes: dict[str, int]) -> None:
        """Send the files ``missing`` names (``local`` paths, ``sizes``) to the remote."""
        r = self.result
        # Small files travel in bundles (one request for many), large ones alone, streamed;
        # several requests at once, since the server fsyncs each file before it answers.
        jobs: list = []
        bundle: dict[str, str] = {}
        bundle_bytes = 0
        for sha in missing:
            if sizes[sha] > BUNDLE_FILE_BYTES:
                jobs.append((self.remote.put_blob, sha, local[sha]))
                continue
            if bundle and (bundle_bytes + sizes[sha] > BUNDLE_BYTES or len(bundle) >= BUNDLE_FILES):
                jobs.append((self.remote.put_blobs, bundle))
                bundle, bundle_bytes = {}, 0
            bundle[sha] = local[sha]
            bundle_bytes += sizes[sha]
        if bundle:
            jobs.append((self.remote.put_blobs, bundle))
        if len(jobs) > 1:
            with ThreadPoolExecutor(
                max_workers=UPLOADS, thread_name_prefix="localrun-upload"
            ) as pool:
                for _ in pool.map(lambda job: job[0](*job[1:]), jobs):
                    pass
        elif jobs:
            jobs[0][0](*jobs[0][1:])
        for sha in missing:
            size = sizes[sha]
            r.files_sent += 1
            r.file_bytes_sent += size
            self.progress(files=1, bytes=size)


def push_runs(
    paths: list[str],
    remote: Remote,
    *,
    on_result: Callable[[PushResult], None] | None = None,
    **kwargs,
) -> list[PushResult]:
    """Sync each run in turn; one run failing does not stop the others."""
    results = []
    for path in paths:
        result = push_run(path, remote, **kwargs)
        if on_result is not None:
            on_result(result)
        results.append(result)
    return results
