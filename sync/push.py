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

Every write names the run's incarnation (docs/protocol.md, "Run identity"): a remote holding
another run under the same project and id refuses it, and the run fails with the way on
(``--as``, ``--replace``). Every answer to a batch is checked: rows are never sent at or below
what the remote holds, so a row it ignores is another run's, and only rows it stored count.

One bad item costs only itself: a media file that is missing, not what its name says or over
the remote's limit is declared lost (its rows go all the same); a batch the remote refuses
with 400 is sent again without the values that break ``localrun.contract`` (``values.py``).
Each is recorded in the result, for the command to list.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import msgspec

from localrun import rundir
from localrun.blobs import MEDIA_DIR
from localrun.contract import project_problem, run_id_problem
from localrun.errors import (
    Error,
    RemoteAuthError,
    RemoteRejectedError,
    RemoteUnreachableError,
    RunDirError,
    SyncError,
)
from localrun.mediarefs import files_named, hash_in_name
from localrun.reader import RunView
from localrun.runfiles import hash_file, list_files, read_manifest

from .artifacts import send_artifacts
from .cursor import Cursor, SyncLock
from .remote import Remote, RunConflictError
from .values import scrub_doc, scrub_rows

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
    rows_sent: int = 0  # rows the remote says it stored during this sync
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
    #: The error needs the user (another run holds the name, a name the remote refuses):
    #: running the same command again will not help. Its message says what will.
    needs_action: bool = False
    replaced: bool = False  # the remote's copy of another run was replaced by this one
    #: Media files that could not be sent, ``{sha256: (path in the run, reason)}``; the rows
    #: that name them were sent, and the remote knows the files are lost.
    lost_media: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: Values (or rows) left out because they break the value contract, one message each.
    not_sent: list[str] = field(default_factory=list)
    #: Artifact versions the run logged that the remote now holds (``sync/artifacts.py``), the
    #: files uploaded for them, and one message per version that could not be sent.
    artifacts_sent: int = 0
    artifact_files_sent: int = 0
    artifact_bytes_sent: int = 0
    artifacts_not_sent: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Everything of the run the remote should hold, it holds (so far, for a live run)."""
        return (
            self.error is None
            and not self.lost_media
            and not self.not_sent
            and not self.artifacts_not_sent
        )


def run_identity(path: str) -> tuple[str, str, float | None]:
    """``(project, run id, created_at)`` as the remote keys the run."""
    info = rundir.read_run_json(path)
    run_id = str(info.get("id") or os.path.basename(os.path.normpath(path)))
    project = str(info.get("project") or "uncategorized")
    created = info.get("created_at")
    return project, run_id, created if type(created) in (int, float) else None


def _path_in_run(run_dir: str, rel: str) -> str:
    """Where ``rel`` is inside ``run_dir`` (the file may be missing); SyncError if outside."""
    full = os.path.normpath(os.path.join(run_dir, rel))
    root = os.path.normpath(run_dir)
    if os.path.isabs(rel) or not full.startswith(root + os.sep):
        raise SyncError(
            f"{run_dir} names media file {rel!r}, which is outside the run directory; it cannot be synced"
        )
    return full


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
    as_id: str | None = None,
    as_project: str | None = None,
    replace: bool = False,
) -> PushResult:
    """Sync the run at ``path`` to ``remote``. Raises nothing of ours: errors land in ``result.error``.

    ``as_id``/``as_project``: the run id and project the run gets on that remote, instead of its
    own (remembered in the run's cursor for the remote). ``replace``: when the remote holds a
    different run under those names, overwrite the remote's copy with this run (its rows of
    the other run are deleted) instead of failing. ``batch_rows``: rows per batch (default
    ``BATCH_ROWS``; batches are also cut to ``batch_bytes`` and to what the remote announces).
    """
    batch_rows = batch_rows or BATCH_ROWS
    try:
        info = rundir.read_run_json(path)
        project, run_id, created_at = run_identity(path)
    except Error as exc:
        return PushResult(path, os.path.basename(os.path.normpath(path)), "", "", error=exc)
    result = PushResult(path, run_id, project, remote.run_url(project, run_id), dry_run=dry_run)
    try:
        with contextlib.ExitStack() as held:
            push = _Push(path, remote, result, batch_rows, batch_bytes, progress, held)
            push.incarnation = rundir.incarnation(info)
            push.replace = replace
            push.name(as_project, as_id)
            push.run(created_at)
    except _NeedsAction as exc:
        result.error = SyncError(str(exc))
        result.needs_action = True
    except Error as exc:
        result.error = exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        # Unreadable files, or a server answering in a shape we did not expect: this run
        # failed, and the others still get their turn.
        result.error = SyncError(f"{type(exc).__name__}: {exc}")
        result.error.__cause__ = exc
    return result


class _NeedsAction(Exception):
    """This run cannot be synced as it is named; the message says what the user can do."""


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
        self.bundle_bytes = BUNDLE_BYTES
        self.bundle_file_bytes = BUNDLE_FILE_BYTES
        self.max_blob_bytes: int | None = None  # the remote's limit, when it says
        self.progress = progress
        self.cursor = Cursor.load(path, remote.base_url)
        self.incarnation: str | None = None
        self.replace = False
        # The project and run id the run has on the remote (its own, or --project/--as).
        self.project = result.project
        self.run_id = result.run_id
        self.known: set[str] = set()  # hashes the remote is known to hold
        self.lost_lock = threading.Lock()
        self.undeclared: list[dict] = []  # lost files the remote has not been told of yet
        self.failed = False  # a batch failed: later batches must not move the cursor past it
        self.failure: BaseException | None = None  # ...and this is why; replay stops early
        # Once the media folder of a run that is not being written was uploaded, every file its
        # rows can name is on the remote: batches need no walk for references. A live run can
        # add files at any time, so its batches are walked.
        self.walk_batches = True
        # The highest step the remote holds of this run, as far as this sync knows: rows at
        # or below it are never sent, so a row the remote ignores is one it holds from
        # someone else.
        self.remote_last = -1
        # The cursor moved since it was last saved: after a run's last batch it is saved once,
        # with the run's end (a sweep of small runs writes one cursor a run), or when the
        # sync fails after it. A kill -9 in between leaves it behind what the server holds,
        # which the next sync finds (the server's last_step) and checks, as for a kill between
        # any answer and its save.
        self.unsaved = False

    def save_cursor(self) -> None:
        self.cursor.save(self.path)
        self.unsaved = False

    # --- names ---------------------------------------------------------------------------------

    def name(self, as_project: str | None, as_id: str | None) -> None:
        """Settle the project and run id the run has on the remote, and check them."""
        r = self.result
        cursor = self.cursor
        project = as_project or cursor.as_project or r.project
        run_id = as_id or cursor.as_id or r.run_id
        self.project, self.run_id = project, run_id
        r.url = self.remote.run_url(project, run_id)
        problem = project_problem(project)
        if problem is not None:
            raise _NeedsAction(
                f"{problem}. A server takes no such project name: sync this run under another "
                f"with `localrun sync {self.path} --to {self.remote.base_url} --project NEWNAME` "
                "(remembered for later syncs to that server)"
            )
        problem = run_id_problem(run_id)
        if problem is not None:
            raise _NeedsAction(
                f"{problem}. A server takes no such run id: sync this run under another with "
                f"`localrun sync {self.path} --to {self.remote.base_url} --as NEWID` "
                "(remembered for later syncs to that server)"
            )

    def _remember_names(self, cursor: Cursor, save: bool = True) -> Cursor:
        """The cursor for the names this sync uses: a fresh one when they changed."""
        r = self.result
        as_project = self.project if self.project != r.project else None
        as_id = self.run_id if self.run_id != r.run_id else None
        if (cursor.as_project, cursor.as_id) != (as_project, as_id):
            # The cursor's progress was for the run under other names on that remote.
            cursor = Cursor(url=cursor.url, as_project=as_project, as_id=as_id)
            if save and not r.dry_run:
                cursor.save(self.path)
        return cursor

    def _conflict(self, detail: str, midway: bool = False) -> _NeedsAction:
        r = self.result
        where = f"localrun sync {self.path} --to {self.remote.base_url}"
        stopped = (
            f"this run's sync stopped there, after {_plural(r.rows_sent, 'row')}"
            if midway
            else "nothing of this run was stored there"
        )
        return _NeedsAction(
            f"the server holds a different run with project {self.project!r} and id {self.run_id!r} "
            f"({detail}); {stopped}. To keep both, sync this one under "
            f"another id: `{where} --as NEWID` (remembered for later syncs to that server). To "
            f"overwrite the server's copy with this run: `{where} --replace`, which deletes "
            f"the rows the server holds of the other run"
            + ("" if r.run_id == self.run_id else f" (this run's own id is {r.run_id!r})")
        )

    def _put_run(self, created_at: float | None) -> dict:
        """Create or find the run on the remote, as this incarnation."""
        try:
            return self.remote.upsert_run(self.project, self.run_id, created_at, self.incarnation)
        except RunConflictError as exc:
            if not self.replace:
                held = "made without an incarnation id" if exc.stored is None else None
                raise self._conflict(
                    held
                    or "another machine's, or an earlier run deleted and logged again under this id"
                ) from None
        return self._replace_run(created_at)

    def _replace_run(self, created_at: float | None) -> dict:
        there = self.remote.upsert_run(
            self.project, self.run_id, created_at, self.incarnation, replace=True
        )
        self.result.replaced = True
        return there

    # --- the run -------------------------------------------------------------------------------

    def run(self, created_at: float | None) -> None:
        r = self.result
        sizes = _segment_sizes(self.path)
        live = rundir.is_locked(self.path)
        # Saved only once the remote answered: a sync that cannot reach it writes nothing here.
        cursor = self.cursor = self._remember_names(self.cursor, save=False)
        check: tuple[int, dict | None] | None = None  # (step, the remote's row there)
        if not r.dry_run:
            self._fit_limits()
            there = self._put_run(created_at)
            # Only once the remote answered: a sync that cannot reach it writes nothing here.
            self.held.enter_context(SyncLock(self.path, self.remote.base_url))
            cursor = Cursor.load(self.path, self.remote.base_url)
            if r.replaced:
                cursor = Cursor(url=cursor.url)
            cursor = self.cursor = self._remember_names(cursor)
            held = there.get("last_step")
            held = held if type(held) is int else None
            if cursor.last_step is not None and (held is None or held < cursor.last_step):
                # The remote holds less than this cursor says (a different or a wiped server
                # at the same URL): start over.
                cursor = self.cursor = Cursor(
                    url=cursor.url, as_project=cursor.as_project, as_id=cursor.as_id
                )
            if (
                cursor.synced
                and not live
                and cursor.segments == sizes
                and there.get("rows") == cursor.rows
            ):
                r.up_to_date = r.synced = True
                r.rows_total = cursor.rows
                return
            if held is not None and held > (
                cursor.last_step if cursor.last_step is not None else -1
            ):
                # The remote holds rows this cursor was never told of: ours when a sync was
                # killed before it saved the cursor, or this run's folder was synced from
                # elsewhere; another run's when that run was synced without an incarnation id.
                # Its last row tells which.
                page = self.remote.rows_page(self.project, self.run_id, held - 1, 1)
                check = (held, page[0] if page and page[0].get("_step") == held else None)
        elif cursor.synced and not live and cursor.segments == sizes:
            r.up_to_date = r.synced = True
            r.rows_total = cursor.rows
            return
        view = RunView(self.path)
        rows = view.rows(final_only=True)
        after = cursor.last_step if cursor.last_step is not None else -1
        if check is not None:
            if self._holds_our_prefix(rows, *check):
                after = check[0]  # and `rows` goes on after that row
            elif self.replace:
                self._replace_run(created_at)
                cursor = self.cursor = Cursor(url=cursor.url)
                cursor = self.cursor = self._remember_names(cursor)
                after = -1
                view = RunView(self.path)
                rows = view.rows(final_only=True)
            else:
                raise self._conflict(
                    f"it holds rows up to step {check[0]} that are not this run's, "
                    "synced by a localrun that sent no incarnation id"
                )
        elif after >= 0:  # steps increase: once past the cursor, every row is new
            rows = itertools.dropwhile(
                lambda row: type(row["_step"]) is not int or row["_step"] <= after, rows
            )
        self.remote_last = after
        try:
            self._send_all(view, rows, cursor, live, sizes)
        except BaseException:
            if self.unsaved:  # what the server acknowledged before the failure
                self.save_cursor()
            raise

    def _send_all(
        self, view: RunView, rows: Iterator[dict], cursor: Cursor, live: bool, sizes: dict
    ) -> None:
        r = self.result
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="localrun-sync") as sender:
            in_flight: list[tuple[Future, int]] = []  # (the send, its body's size)
            if not r.dry_run:
                # First on the sender thread, so before any batch: the media folder, while
                # this thread starts replaying.
                media = self._media_folder()
                # (Run files are checked again by _send_run_files, from files.json.)
                absent = {
                    h: rel
                    for h, rel in cursor.lost.items()
                    if h not in media and not rel.startswith(rundir.FILES_DIR + "/")
                }
                preload = sender.submit(self._send_media_folder, media, absent)
                self.walk_batches = live
            # islice, not a loop appending row by row: this runs a million times for a
            # million-row run, and in C it costs next to nothing.
            size = self.batch_rows
            while batch := list(itertools.islice(rows, size)):
                self._submit(sender, in_flight, batch, final=len(batch) < size)
            while in_flight:
                in_flight.pop(0)[0].result()
            if not r.dry_run:
                preload.result()
        r.state = view.state
        r.dropped = len(view.replay.dropped)
        r.held_back = len(view.held_back)
        send_artifacts(self, view.replay.artifacts)
        if r.dry_run:
            return
        doc = view.to_json()
        doc["path"] = r.url  # not the local folder: the server reports its own URL here anyway
        doc["id"], doc["project"] = self.run_id, self.project
        doc.pop("files", None)  # the server lists the run's files itself (from _send_run_files)
        doc, problems = scrub_doc(doc)
        r.not_sent.extend(problems)
        self._send_files(doc)
        self._send_run_files()
        self._declare_lost()
        try:
            there = self.remote.set_doc(self.project, self.run_id, doc, self.incarnation)
        except RunConflictError:
            raise self._conflict(
                "another sync put it there while this one ran", midway=True
            ) from None
        r.rows_total = there.get("rows", 0)
        finished = r.state != "running" and not r.held_back
        cursor.rows = r.rows_total
        # A run with lost media files is not done: a later sync sends any that are back.
        cursor.lost = {sha: rel for sha, (rel, _) in r.lost_media.items()}
        cursor.synced = finished and not r.lost_media and not r.artifacts_not_sent
        cursor.segments = sizes if cursor.synced else {}
        self.save_cursor()
        r.synced = cursor.synced

    def _fit_limits(self) -> None:
        """Size batches and bundles to what the remote says one request may carry."""
        limits = self.remote.limits()
        body = limits.get("max_body_bytes")
        if body:
            self.batch_bytes = max(1, min(self.batch_bytes, body * 3 // 4))
            self.bundle_bytes = max(1, min(self.bundle_bytes, body * 3 // 4))
            self.bundle_file_bytes = min(self.bundle_file_bytes, self.bundle_bytes)
        if limits.get("max_batch_rows"):
            self.batch_rows = min(self.batch_rows, limits["max_batch_rows"])
        self.max_blob_bytes = limits.get("max_blob_bytes")

    def _holds_our_prefix(self, rows: Iterator[dict], step: int, theirs: dict | None) -> bool:
        """Whether the remote's row at ``step`` is this run's, reading ``rows`` just past it."""
        for row in rows:
            at = row["_step"]
            if type(at) is int and at >= step:
                break
        else:
            return False
        if theirs is None or at != step:
            return False
        if _encode(row) == _encode(theirs):
            return True
        mine, _ = scrub_rows([row], step - 1)  # as it was sent, if it was left values out
        return bool(mine) and _encode(mine[0]) == _encode(theirs)

    # --- batches -------------------------------------------------------------------------------

    def _submit(
        self,
        sender: ThreadPoolExecutor,
        in_flight: list[tuple[Future, int]],
        batch: list[dict],
        final: bool = False,
    ) -> None:
        """Queue ``batch`` for the sender; ``final``: it is the run's last (its last body's
        cursor is saved with the run's end)."""
        if self.failure is not None:
            raise self.failure  # no point replaying the rest of a run that cannot be sent
        bodies = self._bodies(batch)
        ahead = next(bodies, None)
        while ahead is not None:
            body, rows = ahead
            ahead = next(bodies, None)
            last = final and ahead is None
            files: dict[str, str] = {}
            if self.walk_batches and (
                b"sha256" in body or b"filenames" in body
            ):  # cheap test first
                files_named(rows, files)
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
                (sender.submit(self._send, body, len(rows), files, not last), len(body))
            )

    def _bodies(self, rows: list[dict]):
        """msgpack arrays of ``rows``, halved until each fits in ``batch_bytes``."""
        body = _encode(rows)
        if len(body) <= self.batch_bytes or len(rows) == 1:
            yield body, rows
            return
        half = len(rows) // 2
        yield from self._bodies(rows[:half])
        yield from self._bodies(rows[half:])

    def _send(self, body: bytes, n_rows: int, files: dict[str, str], save: bool = True) -> None:
        """On the sender thread: media first, then the rows, then the cursor."""
        if self.failed:
            return
        try:
            self._send_files_now(files)
            self._declare_lost()
            self._send_rows(body, n_rows, save)
        except BaseException as exc:
            self.failed = True
            self.failure = exc
            raise

    def _send_rows(self, body: bytes, n_rows: int, save: bool = True) -> None:
        """Send one batch until the remote stores it, leaving out only what it cannot take."""
        r = self.result
        for _ in range(8):  # each pass below changes the batch, or raises
            try:
                answer, retried = self.remote.post_rows(
                    self.project, self.run_id, body, self.incarnation
                )
                break
            except RunConflictError:
                raise self._conflict(
                    "another sync put it there while this one ran", midway=True
                ) from None
            except RemoteRejectedError as exc:
                if exc.status == 409:
                    # The rows name files the remote lacks (ones that appeared after the media
                    # folder was sent, or are missing here): send what they name, declare what
                    # cannot be sent, then send the rows again.
                    files: dict[str, str] = {}
                    files_named(_decode(body), files)
                    self.known.difference_update(files)
                    sent = self.result.files_sent
                    self._send_files_now(files)
                    if not self._declare_lost() and sent == self.result.files_sent:
                        raise  # nothing changed: the same answer again
                elif exc.status == 400:
                    # A value the remote will not take (written before the recorder refused
                    # such values): leave out just those values, and send the rest.
                    body, n_rows = self._scrubbed(body, exc)
                    if n_rows == 0:
                        return
                elif exc.status == 413 and n_rows > 1:
                    # Over the remote's body limit (one it did not announce): halve the batch.
                    rows = _decode(body)
                    half = len(rows) // 2
                    self._send_rows(_encode(rows[:half]), half)
                    self._send_rows(_encode(rows[half:]), len(rows) - half, save)
                    return
                elif exc.status == 413:
                    shrunk = self._shrunk(body)
                    if shrunk == body:
                        raise
                    body = shrunk
                else:
                    raise
        else:
            raise SyncError(
                f"a batch of {n_rows} rows of {self.project}/{self.run_id} was refused again and "
                "again; this run's sync stops here. Run it again to retry"
            )
        inserted, ignored = self._account(answer, body, n_rows, retried)
        self.remote_last = answer["last_step"]
        self.cursor.last_step = answer["last_step"]
        self.cursor.synced = False
        self.unsaved = True
        if save:
            self.save_cursor()
        r.rows_sent += inserted + (ignored if retried else 0)
        r.bytes_sent += len(body)
        self.progress(rows=n_rows, bytes=len(body))

    def _account(self, answer, body: bytes, n_rows: int, retried: bool) -> tuple[int, int]:
        """``(inserted, ignored)`` from the remote's answer, checked against what was sent."""
        try:
            inserted, ignored, last = answer["inserted"], answer["ignored"], answer["last_step"]
        except (TypeError, KeyError):
            inserted = ignored = last = None
        if type(inserted) is not int or type(ignored) is not int or type(last) is not int:
            raise SyncError(
                f"{self.remote.base_url} answered {str(answer)[:200]} to a batch of rows, not the "
                "counts of stored rows a localrun server answers. Is it a localrun server?"
            )
        if inserted + ignored != n_rows:
            raise SyncError(
                f"{self.remote.base_url} says it stored {inserted} and ignored {ignored} of the "
                f"{n_rows} rows sent of {self.project}/{self.run_id}: that does not add up, so "
                "this run's sync stops here. Is it a localrun server?"
            )
        if ignored and not retried:
            # Rows above what the remote held were ignored: either rows whose step went
            # backwards (a logged '_step'), which the remote rightly ignores, or the remote
            # holds rows of another run.
            backwards = sum(
                1
                for row in _decode(body)
                if type(row.get("_step")) is int and row["_step"] <= self.remote_last
            )
            if backwards != ignored:
                raise self._conflict(
                    f"it already held {ignored} of the rows this sync sent as new, up to step "
                    f"{last}: rows of another run",
                    midway=True,
                )
            _, problems = scrub_rows(_decode(body), self.remote_last)
            self.result.not_sent.extend(problems)
        return inserted, ignored

    def _scrubbed(self, body: bytes, refusal: RemoteRejectedError) -> tuple[bytes, int]:
        """The batch without what breaks the value contract; the refusal again if nothing does."""
        rows, problems = scrub_rows(_decode(body), self.remote_last)
        if not problems:
            raise refusal
        self.result.not_sent.extend(problems)
        return _encode(rows), len(rows)

    def _shrunk(self, body: bytes) -> bytes:
        """A one-row batch over the remote's body limit: the row without its largest values."""
        (row,) = _decode(body)
        limit = self.remote.limits().get("max_body_bytes") or len(body) // 2
        sizes = sorted(
            (
                (len(_encode(v)), k)
                for k, v in row.items()
                if k not in ("_step", "_runtime", "_timestamp")
            ),
            reverse=True,
        )
        row = dict(row)
        for size, k in sizes:
            if len(_encode(row)) <= limit * 3 // 4:
                break
            del row[k]
            self.result.not_sent.append(
                f"step {row['_step']}: {k!r} not sent: its {size:,} bytes are over the server's "
                f"limit of {limit:,} bytes for one request (localrun serve --max-body-mb)"
            )
        return _encode([row])

    def _count_dry(self, files: dict[str, str], n_rows: int, n_bytes: int) -> None:
        r = self.result
        r.rows_sent += n_rows
        r.bytes_sent += n_bytes
        for sha, rel in files.items():
            if sha not in r.files_seen:
                r.files_seen.add(sha)
                try:
                    size = os.path.getsize(_path_in_run(self.path, rel))
                except OSError:
                    self._lose(sha, rel, MISSING)
                    continue
                r.files_sent += 1
                r.file_bytes_sent += size

    # --- run files -----------------------------------------------------------------------------

    def _send_run_files(self) -> None:
        """Upload the run's files (``files/``) the remote lacks, as blobs (each once per
        remote), then the run's list of them. A file that is not what files.json says is not
        sent, and is listed as a file not sent; one files.json does not list is hashed here."""
        r = self.result
        try:
            manifest = read_manifest(self.path)
        except RunDirError as exc:
            r.not_sent.append(f"run files: {exc}")
            manifest = {}
        present = list_files(self.path)
        if not present:
            return
        local: dict[str, str] = {}
        sizes: dict[str, int] = {}
        entries = []
        for rel in present:
            full = os.path.join(self.path, rundir.FILES_DIR, *rel.split("/"))
            known = manifest.get(rel)
            try:
                size = os.path.getsize(full)
                sha = known["sha256"] if known is not None else hash_file(full)[0]
            except OSError:
                continue
            local[sha], sizes[sha] = full, size
            entries.append({"path": rel, "sha256": sha, "size": size})
        unknown = [h for h in local if h not in self.known]
        if unknown:
            missing = self.remote.missing_blobs(unknown)
            self._upload(missing, local, sizes)
            self.known.update(h for h in unknown if h not in r.lost_media)
        sent = [e for e in entries if e["sha256"] not in r.lost_media]
        try:
            self.remote.put_files(self.project, self.run_id, sent, self.incarnation)
        except RunConflictError:
            raise self._conflict(
                "another sync put it there while this one ran", midway=True
            ) from None
        except RemoteRejectedError as exc:
            if exc.status not in (404, 405):
                raise
            r.not_sent.append(
                f"{_plural(len(sent), 'run file')} (files/) not listed: {self.remote.base_url} is "
                "older than this localrun and keeps no run files. Upgrade the server, then sync again"
            )

    # --- media ---------------------------------------------------------------------------------

    def _media_folder(self) -> dict[str, tuple[str, int]]:
        """The run's media files, ``{sha256: (path, size)}``.

        Listed on the main thread before replay starts: on the sender thread, with replay
        holding the interpreter, each stat waited for its turn, and a thousand files took
        0.2-0.5 s.
        """
        found = {}
        try:
            with os.scandir(os.path.join(self.path, MEDIA_DIR)) as entries:
                for entry in entries:
                    sha = hash_in_name(entry.name)
                    if sha is not None and entry.is_file():
                        found[sha] = (entry.path, entry.stat().st_size)
        except OSError:
            pass
        return found

    def _send_media_folder(self, media: dict[str, tuple[str, int]], absent: dict[str, str]) -> None:
        """Upload the run's media files the remote lacks, all at once, before replay starts.

        Asking per batch would mean a round trip per batch, each one waiting on replay for the
        interpreter; this way the files go out in parallel from the start. Batches of a live run
        are still checked, for files that appear meanwhile. ``absent`` are files the last sync
        found missing (``{sha256: path}``): still missing unless the remote has them by now.
        """
        try:
            unknown = [h for h in (*media, *absent) if h not in self.known]
            if unknown:
                missing = self.remote.missing_blobs(unknown)
                for sha in missing:
                    if sha not in media:
                        self._lose(sha, absent[sha], MISSING)
                missing = [h for h in missing if h in media]
                self._upload(
                    missing, {h: media[h][0] for h in missing}, {h: media[h][1] for h in missing}
                )
                self.known.update(h for h in unknown if h not in self.result.lost_media)
            self._declare_lost()
        except BaseException as exc:
            self.failed = True
            self.failure = exc
            raise

    def _send_files(self, value) -> None:
        self._send_files_now(files_named(value))

    def _send_files_now(self, files: dict[str, str]) -> None:
        lost = self.result.lost_media
        unknown = [h for h in files if h not in self.known and h not in lost]
        if not unknown:
            return
        local = {}
        sizes = {}
        for sha in unknown:
            full = _path_in_run(self.path, files[sha])
            try:
                sizes[sha] = os.path.getsize(full)
            except OSError:
                local[sha] = full  # asked about below: the remote may hold it all the same
                continue
            local[sha] = full
        missing = self.remote.missing_blobs(unknown)
        for sha in [h for h in missing if h not in sizes]:
            self._lose(sha, files[sha], MISSING)
        missing = [h for h in missing if h in sizes]
        self._upload(missing, local, sizes)
        self.known.update(unknown)

    def _upload(self, missing: list[str], local: dict[str, str], sizes: dict[str, int]) -> None:
        """Send the files ``missing`` names (``local`` paths, ``sizes``) to the remote.

        Each file's bytes are hashed as they are read: a file that is not what its name says
        (damaged, or the empty file a crash can leave), missing, or over the remote's limit is
        not sent but recorded as lost (``_lose``), and the rest go on.
        """
        # Small files travel in bundles (one request for many), large ones alone, streamed;
        # several requests at once, since the server fsyncs each file before it answers.
        jobs: list = []
        bundle: dict[str, str] = {}
        bundle_bytes = 0
        for sha in missing:
            size = sizes[sha]
            if self.max_blob_bytes is not None and size > self.max_blob_bytes:
                self._lose(sha, self._rel(local[sha]), self._too_large(size))
                continue
            if size > self.bundle_file_bytes:
                jobs.append((self._put_one, sha, local[sha], size))
                continue
            if bundle and (bundle_bytes + size > self.bundle_bytes or len(bundle) >= BUNDLE_FILES):
                jobs.append((self._put_bundle, bundle))
                bundle, bundle_bytes = {}, 0
            bundle[sha] = local[sha]
            bundle_bytes += size
        if bundle:
            jobs.append((self._put_bundle, bundle))
        if len(jobs) > 1:
            with ThreadPoolExecutor(
                max_workers=UPLOADS, thread_name_prefix="localrun-upload"
            ) as pool:
                for _ in pool.map(lambda job: job[0](*job[1:]), jobs):
                    pass
        elif jobs:
            jobs[0][0](*jobs[0][1:])

    def _put_bundle(self, paths: dict[str, str]) -> None:
        """Read, check and upload a bundle of small files (on an upload thread)."""
        bundle = {}
        for sha, path in paths.items():
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                self._lose(sha, self._rel(path), MISSING)
                continue
            problem = _hash_problem(sha, data)
            if problem is not None:
                self._lose(sha, self._rel(path), problem)
                continue
            bundle[sha] = data
        if bundle:
            self.remote.put_bundle(bundle)
            self._sent(sum(len(data) for data in bundle.values()), len(bundle))

    def _put_one(self, sha: str, path: str, size: int) -> None:
        """Upload one large file, streamed (on an upload thread)."""
        try:
            self.remote.put_blob(sha, path)
        except FileNotFoundError:
            self._lose(sha, self._rel(path), MISSING)
            return
        except RemoteRejectedError as exc:
            if exc.status == 413:
                self._lose(sha, self._rel(path), self._too_large(size))
                return
            if exc.status != 400:
                raise
            # The remote hashed what it was sent, and it was not what the name says. Read it
            # again here (only now: hashing every large file first would read each twice).
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    digest.update(chunk)
            problem = _digest_problem(sha, digest.hexdigest(), os.path.getsize(path))
            if problem is None:
                raise
            self._lose(sha, self._rel(path), problem)
            return
        self._sent(size, 1)

    def _sent(self, n_bytes: int, n_files: int) -> None:
        r = self.result
        with self.lost_lock:
            r.files_sent += n_files
            r.file_bytes_sent += n_bytes
        self.progress(files=n_files, bytes=n_bytes)

    def _sent_artifact(self, n_bytes: int, n_files: int) -> None:
        r = self.result
        with self.lost_lock:
            r.artifact_files_sent += n_files
            r.artifact_bytes_sent += n_bytes
        self.progress(files=n_files, bytes=n_bytes)

    def _too_large(self, size: int) -> str:
        limit = f" of {self.max_blob_bytes:,} bytes" if self.max_blob_bytes else ""
        return f"too large: {size:,} bytes, over the server's limit{limit} for one file (localrun serve --max-blob-mb)"

    def _rel(self, path: str) -> str:
        return os.path.relpath(path, self.path)

    def _lose(self, sha: str, rel: str, reason: str) -> None:
        """Record a media file that cannot be sent; ``_declare_lost`` tells the remote."""
        with self.lost_lock:
            if sha in self.result.lost_media:
                return
            self.result.lost_media[sha] = (rel, reason)
            self.undeclared.append({"sha256": sha, "path": rel, "reason": reason})

    def _declare_lost(self) -> bool:
        """Tell the remote of the lost files it was not told of yet; whether there were any."""
        with self.lost_lock:
            files, self.undeclared = self.undeclared, []
        if not files or self.result.dry_run:
            return bool(files)
        try:
            self.remote.declare_lost(self.project, self.run_id, files, self.incarnation)
        except RunConflictError:
            raise self._conflict(
                "another sync put it there while this one ran", midway=True
            ) from None
        except RemoteRejectedError as exc:
            if exc.status not in (404, 405):
                raise
            first = files[0]
            raise SyncError(
                f"{_plural(len(files), 'media file')} of this run cannot be sent ({first['path']}: "
                f"{first['reason']}), and {self.remote.base_url} would not record them as lost "
                f"({exc.status}): a server older than this localrun cannot. Upgrade the server, or "
                "put the files back in the run's media/ folder, then sync again"
            ) from exc
        return True


MISSING = "missing from the run directory"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _hash_problem(sha: str, data: bytes) -> str | None:
    """Why ``data`` is not the file named ``sha``, or None."""
    return _digest_problem(sha, hashlib.sha256(data).hexdigest(), len(data))


def _digest_problem(sha: str, digest: str, size: int) -> str | None:
    if digest == sha:
        return None
    if size == 0:
        return "empty: 0 bytes (a crash or power loss can leave such a file)"
    return f"damaged (its bytes hash to {digest[:16]}..., not to its name)"


def push_runs(
    paths: list[str],
    remote: Remote,
    *,
    on_result: Callable[[PushResult], None] | None = None,
    **kwargs,
) -> list[PushResult]:
    """Sync each run in turn; one run failing does not stop the others, unless the remote
    itself is the trouble (``remote_failure``): then the runs after it are not tried, and the
    results end with that run's."""
    results = []
    settled = _up_to_date(paths, remote, **kwargs)
    for path in paths:
        result = settled.get(path) or push_run(path, remote, **kwargs)
        if on_result is not None:
            on_result(result)
        results.append(result)
        if remote_failure(result):
            break
    return results


#: Runs asked about in one ``runs_held`` request (the server takes up to its max_hashes).
HELD_BATCH = 1000


def _up_to_date(
    paths: list[str],
    remote: Remote,
    *,
    dry_run: bool = False,
    as_id: str | None = None,
    as_project: str | None = None,
    replace: bool = False,
    **_: object,
) -> dict[str, PushResult]:
    """The runs with nothing new to send, settled together: a run whose cursor says it was
    synced whole, with the segments it has now and no writer, is up to date when the remote
    still holds it as this incarnation with the rows the cursor counted. One request per
    ``HELD_BATCH`` runs asks (``Remote.runs_held``), where ``push_run`` would ask once a run.
    Any run this does not settle (and every run, against a server without that route) goes
    through ``push_run``, which decides the same way."""
    if dry_run or replace or as_id is not None or as_project is not None or len(paths) < 2:
        return {}
    candidates = []  # (path, cursor, result, incarnation, remote names)
    for path in paths:
        try:
            cursor = Cursor.load(path, remote.base_url)
            if not cursor.synced or cursor.segments != _segment_sizes(path):
                continue
            if rundir.is_locked(path):
                continue
            meta = rundir.read_run_json(path)
            project, run_id, _identity = run_identity(path)
        except (Error, OSError, ValueError):
            continue  # push_run says what is wrong
        names = (cursor.as_project or project, cursor.as_id or run_id)
        result = PushResult(path, run_id, project, remote.run_url(*names))
        candidates.append((path, cursor, result, rundir.incarnation(meta), names))
    settled: dict[str, PushResult] = {}
    for i in range(0, len(candidates), HELD_BATCH):
        chunk = candidates[i : i + HELD_BATCH]
        try:
            held = remote.runs_held([c[4] for c in chunk])
        except Error:
            return settled  # push_run meets the same trouble and reports it per run
        if held is None:
            return settled
        for (path, cursor, result, incarnation, _names), there in zip(chunk, held, strict=True):
            if type(there) is not dict or incarnation is None:
                continue
            last = there.get("last_step")
            if (
                there.get("incarnation") == incarnation
                and there.get("rows") == cursor.rows
                and not (
                    cursor.last_step is not None
                    and (type(last) is not int or last < cursor.last_step)
                )
            ):
                result.up_to_date = result.synced = True
                result.rows_total = cursor.rows
                settled[path] = result
    return settled


def remote_failure(result: PushResult) -> bool:
    """Whether the run failed because of the remote, not the run: no connection could be made
    (``RemoteUnreachableError``) or the remote refuses this client (``RemoteAuthError``: no
    token or a wrong one). Every other run would fail the same way."""
    return isinstance(result.error, (RemoteUnreachableError, RemoteAuthError))
