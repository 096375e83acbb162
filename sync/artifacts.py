"""Sending a run's artifact versions with the run (docs/protocol.md, "Artifacts").

For each version the run logged (its ``artifact`` records, by replay): read the manifest from
the runs root's store, ask the server which of its files it lacks (the blob routes, shared
with media: a file already on the server, from any run or version, is never sent again),
upload those (small ones bundled, large ones streamed), then ``PUT`` the version with the
aliases the run gave it and when. Every step is idempotent, so a sync run again after a
failure sends only what is still missing. A version that cannot be sent (its files are not
in this runs root, one is damaged or over the server's limit, the server holds another
version under its number) is listed in ``result.artifacts_not_sent``; the rest go on.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor

from localrun.artifacts.store import Store
from localrun.errors import Error, RemoteRejectedError, TransportError

UPLOADS = 4
BUNDLE_FILE_BYTES = 1024 * 1024
BUNDLE_BYTES = 4 * 1024 * 1024


def versions_logged(records: list[dict]) -> dict[tuple, tuple[dict, list]]:
    """``{(project, name, version): (record, [[alias, time], ...])}`` of the run's log records."""
    out: dict[tuple, tuple[dict, list]] = {}
    for rec in records:
        if rec.get("action") != "log":
            continue
        key = (rec.get("project"), rec.get("name"), rec.get("version"))
        if not all(type(k) is str for k in key[:2]) or type(key[2]) is not int:
            continue
        _, aliases = out.setdefault(key, (rec, []))
        aliases.extend([a, rec["time"]] for a in rec.get("aliases") or [] if a != "latest")
    return out


def send_artifacts(push, records: list[dict]) -> None:
    """Send the versions the run logged to ``push.remote`` (``push`` is sync's ``_Push``)."""
    versions = versions_logged(records)
    if not versions:
        return
    r = push.result
    store = Store(os.path.dirname(os.path.abspath(push.path)))
    for (project, name, number), (rec, aliases) in versions.items():
        what = f"artifact {project}/{name}:v{number}"
        try:
            doc = store.read_json(rec["manifest"])
            files = {
                e["digest"]: store.object_path(e["digest"])
                for e in doc["entries"].values()
                if e.get("ref") is None
            }
            if r.dry_run:
                r.artifacts_sent += 1
                continue
            problem = _upload(push, files, store)
            if problem is not None:
                r.artifacts_not_sent.append(f"{what} not sent: {problem}")
                continue
            # Under the run's name on the server when the artifact is in the run's project.
            on_remote = push.project if project == r.project else project
            answer = _put_version(push, on_remote, name, number, rec, doc, aliases)
            r.artifacts_sent += bool(answer.get("created")) if type(answer) is dict else 0
        except TransportError:
            raise  # the server is unreachable: the run's sync fails, and is retried later
        except (Error, OSError, KeyError, TypeError) as exc:
            r.artifacts_not_sent.append(f"{what} not sent: {exc}")


def _put_version(push, project, name, number, rec, doc, aliases) -> dict:
    try:
        return push.remote.put_artifact_version(
            project,
            name,
            number,
            {
                "type": rec.get("type"),
                "digest": rec.get("digest"),
                "size": rec.get("size"),
                "created_at": rec.get("time"),
                "run": push.run_id,
                "manifest": doc,
                "aliases": aliases,
            },
        )
    except RemoteRejectedError as exc:
        if exc.status in (404, 405, 501):
            raise RemoteRejectedError(
                f"{push.remote.base_url} does not keep artifacts (it answered {exc.status}): "
                "a localrun serve older than this localrun. Upgrade the server, then sync again",
                url=exc.url,
                status=exc.status,
                body=exc.body,
            ) from exc
        raise


def _upload(push, files: dict[str, str], store: Store) -> str | None:
    """Upload the files the server lacks; why they could not all be sent, or None."""
    missing = push.remote.missing_blobs(sorted(files))
    if not missing:
        return None
    limit = push.max_blob_bytes
    sizes = {}
    for sha in missing:
        try:
            sizes[sha] = os.path.getsize(files[sha])
        except OSError:
            return f"its file {sha[:16]}... is not in {store.objects}"
        if limit is not None and sizes[sha] > limit:
            return (
                f"a file of {sizes[sha]:,} bytes is over the server's limit of {limit:,} bytes "
                "for one file: start the server with a larger --max-blob-mb"
            )
    jobs: list = []
    bundle: dict[str, str] = {}
    held = 0
    for sha in missing:
        if sizes[sha] > BUNDLE_FILE_BYTES:
            jobs.append((_put_one, sha))
            continue
        if bundle and held + sizes[sha] > BUNDLE_BYTES:
            jobs.append((_put_bundle, bundle))
            bundle, held = {}, 0
        bundle[sha] = files[sha]
        held += sizes[sha]
    if bundle:
        jobs.append((_put_bundle, bundle))

    def run(job):
        fn, arg = job
        return fn(push, files, sizes, arg)

    with ThreadPoolExecutor(max_workers=UPLOADS, thread_name_prefix="localrun-artifact") as pool:
        problems = [p for p in pool.map(run, jobs) if p is not None]
    return problems[0] if problems else None


def _put_bundle(push, files, sizes, bundle: dict[str, str]) -> str | None:
    data = {}
    for sha, path in bundle.items():
        with open(path, "rb") as f:
            data[sha] = f.read()
        if hashlib.sha256(data[sha]).hexdigest() != sha:
            return f"{path} is damaged (its bytes do not hash to its name)"
    push.remote.put_bundle(data)
    push._sent_artifact(sum(len(d) for d in data.values()), len(data))
    return None


def _put_one(push, files, sizes, sha: str) -> str | None:
    try:
        push.remote.put_blob(sha, files[sha])
    except RemoteRejectedError as exc:
        if exc.status == 400:
            return f"{files[sha]} is damaged (its bytes do not hash to its name)"
        if exc.status == 413:
            return (
                f"a file of {sizes[sha]:,} bytes is over the server's limit for one file: "
                "start the server with a larger --max-blob-mb"
            )
        raise
    push._sent_artifact(sizes[sha], 1)
    return None
