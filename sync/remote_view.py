"""Reading runs back from a server: ``localrun show URL`` and ``localrun export URL``.

A run's URL is what ``localrun sync`` printed: the server's URL followed by the run's path,
``/runs/<project>/<run id>``. ``RemoteRunView`` reads it with the same surface as ``RunView``
(``rows()``, ``scan()``, ``to_json()``), so the commands print the same for both.

A run whose rows have reached the server but whose document (config, summary, state...) has
not yet, because a sync is under way or stopped half-way, reads as a run in state
``syncing`` with the document's other keys empty.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from localrun.errors import RemoteRejectedError, SyncError
from localrun.reader import EMPTY_DOC

from .protocol import SYNCING, split_run_url

if TYPE_CHECKING:
    from .remote import Remote


def is_url(path: str) -> bool:
    return path.startswith(("http://", "https://"))


class RemoteRunView:
    """One run on a server, read back."""

    def __init__(self, remote: Remote, project: str, run_id: str, doc: dict | None = None):
        self.remote = remote
        self.project_key = project
        self.id = run_id
        self.path = remote.run_url(project, run_id)
        self.damage: list = []  # damage is in the document's "damaged"; nothing to report again
        self._doc = doc

    def rows(self) -> Iterator[dict]:
        try:
            for row in self.remote.iter_rows(self.project_key, self.id):
                if type(row) is not dict:
                    raise TypeError(type(row).__name__)
                yield row
        except (KeyError, TypeError, AttributeError) as exc:
            raise SyncError(
                f"{self.path} answered a page of rows that are not rows ({type(exc).__name__}: "
                f"{exc}). Is it a localrun server?"
            ) from None

    def scan(self) -> RemoteRunView:
        return self

    def to_json(self) -> dict[str, Any]:
        if self._doc is None:
            self._doc = self.remote.get_run(self.project_key, self.id)
            if type(self._doc) is not dict:
                raise SyncError(
                    f"{self.path} answered a {type(self._doc).__name__}, not a run. "
                    "Is it a localrun server?"
                )
        return complete(self._doc, self.path, self.id, self.project_key)


def complete(doc: dict, path: str, run_id: str, project: str) -> dict[str, Any]:
    """A run's document as the server holds it, with ``path`` set, and, when it has not
    arrived yet (the server lists the run with no state), every other key of a document
    filled in as for a run that holds nothing yet, in state ``syncing``."""
    doc = dict(doc)
    doc["path"] = path
    if doc.get("state") is not None and EMPTY_DOC.keys() <= doc.keys():
        return doc
    out = {k: doc[k] if k in doc else copy.copy(v) for k, v in EMPTY_DOC.items()}
    out.update(doc)  # keys this reader does not know stay too
    if out["id"] is None:
        out["id"] = run_id
    if out["project"] is None:
        out["project"] = project
    if out["state"] is None:
        out["state"] = SYNCING
    return out


def remote_views(
    url: str,
    token: str | None = None,
    transport=None,
    reader: str = "show",
    backoff_s: float | None = None,
) -> tuple[Remote, list[RemoteRunView], bool]:
    """The runs a URL names: ``(remote, views, single)``; ``single`` when it named one run.

    ``reader`` is the command reading (``show``, ``export``), for what its messages advise;
    ``backoff_s`` the first pause between retries (``Remote``'s default when None).
    """
    base, project, run_id = split_run_url(url)
    from .remote import BACKOFF_S, Remote  # httpx: imported only when a URL is read

    advice = (
        f"`localrun {reader}` reads a server while `localrun serve` runs there; a run's own "
        "folder reads without one"
    )
    remote = Remote(
        base,
        token=token,
        transport=transport,
        advice=advice,
        backoff_s=BACKOFF_S if backoff_s is None else backoff_s,
    )
    try:
        if project is not None and run_id is not None:  # split_run_url gives both or neither
            view = RemoteRunView(remote, project, run_id)
            try:
                view.to_json()  # fail here, with the server's message, if there is no such run
            except RemoteRejectedError as exc:
                if exc.status != 404:
                    raise
                raise SyncError(
                    f"no run {project!r}/{run_id!r} on this server ({base}). "
                    f"`localrun show {base}` lists the runs it holds"
                ) from None
            return remote, [view], True
        docs = remote.list_runs()
        if type(docs) is not list or not all(type(d) is dict for d in docs):
            raise SyncError(
                f"{base} answered something that is not a list of runs. Is it a localrun server?"
            )
        if not docs:
            raise SyncError(
                f"{base} holds no runs yet. Push some with: localrun sync ./runs --to {base}"
            )
    except BaseException:
        remote.close()
        raise
    views = []
    for d in docs:
        _, project, run_id = split_run_url(str(d.get("path", "")))
        project = project or d.get("project")
        run_id = run_id or d.get("id")
        if type(project) is not str or type(run_id) is not str:
            remote.close()
            raise SyncError(
                f"{base} listed a run with no project or id ({str(d)[:120]}). Is it a localrun server?"
            )
        views.append(RemoteRunView(remote, project, run_id, d))
    return remote, views, False
