"""Reading runs back from a server: ``localrun show URL`` and ``localrun export URL``.

A run's URL is what ``localrun sync`` printed: the server's URL followed by the run's path,
``/runs/<project>/<run id>``. ``RemoteRunView`` reads it with the same surface as ``RunView``
(``rows()``, ``scan()``, ``to_json()``), so the commands print the same for both.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from localrun.errors import SyncError

if TYPE_CHECKING:
    from .remote import Remote


def is_url(path: str) -> bool:
    return path.startswith(("http://", "https://"))


def split_run_url(url: str) -> tuple[str, str | None, str | None]:
    """``(server URL, project, run id)``; project and id are None for the server itself."""
    url = url.rstrip("/")
    parts = urlsplit(url)
    segments = parts.path.split("/")
    if len(segments) >= 3 and segments[-3] == "runs":
        base = url[: url.rfind("/runs/")]
        return base, unquote(segments[-2]), unquote(segments[-1])
    if segments[-1] == "runs":
        return url[: -len("/runs")], None, None
    return url, None, None


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
        return self.remote.iter_rows(self.project_key, self.id)

    def scan(self) -> RemoteRunView:
        return self

    def to_json(self) -> dict[str, Any]:
        if self._doc is None:
            self._doc = self.remote.get_run(self.project_key, self.id)
        doc = dict(self._doc)
        doc["path"] = self.path
        return doc


def remote_views(
    url: str, token: str | None = None, transport=None
) -> tuple[Remote, list[RemoteRunView], bool]:
    """The runs a URL names: ``(remote, views, single)``; ``single`` when it named one run."""
    base, project, run_id = split_run_url(url)
    from .remote import Remote  # httpx: imported only when a URL is read

    remote = Remote(base, token=token, transport=transport)
    try:
        if run_id is not None:
            view = RemoteRunView(remote, project, run_id)
            view.to_json()  # fail here, with the server's message, if there is no such run
            return remote, [view], True
        docs = remote.list_runs()
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
        views.append(RemoteRunView(remote, project or d["project"], run_id or d["id"], d))
    return remote, views, False
