"""Which media files the viewer serves, and as what.

Only a run's media files are served: a path as values name them, ``media/<name>``, one level
deep, no ``.tmp-*`` file (a media file being written). Anything else (``run.json``, segments,
sync cursors, ``..``, an absolute path, a symlink out of ``media/``) is refused as not found.

Each file goes out with the Content-Type of its extension (``nosniff`` makes the browser keep
it) and a sandboxing Content-Security-Policy: a file opened on its own, outside the viewer's
sandboxed ``<iframe>``, still runs in an opaque origin that can reach neither the viewer's
pages nor its API. An ``Html`` file may run its own inline scripts there, nothing else.
"""

from __future__ import annotations

import os

from localrun.blobs import MEDIA_DIR

from .source import NotFoundError

# The extensions docs/media.md stores; anything else is served as bytes to download.
CONTENT_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "bmp": "image/bmp",
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "flac": "audio/flac",
    "oga": "audio/ogg",
    "opus": "audio/ogg",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
    "mp4": "video/mp4",
    "webm": "video/webm",
    "ogg": "video/ogg",  # Video(format="ogg"); an Audio .ogg plays from it as well
    "html": "text/html; charset=utf-8",
    "json": "application/json",
    "obj": "text/plain; charset=utf-8",
    "stl": "model/stl",
    "glb": "model/gltf-binary",
    "gltf": "model/gltf+json",
    "babylon": "application/json",
    "pdb": "text/plain; charset=utf-8",
}
BINARY = "application/octet-stream"

FILE_CSP = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; img-src data: blob:; media-src data: blob:; font-src data:; "
    "frame-ancestors 'self'"
)


def media_relpath(path: str) -> str:
    """``path`` checked to be ``media/<file name>``; NotFoundError otherwise."""
    parts = path.split("/")
    if (
        len(parts) != 2
        or parts[0] != MEDIA_DIR
        or parts[1] in ("", ".", "..")
        or parts[1].startswith(".")
        or "\\" in path
        or "\x00" in path
    ):
        raise NotFoundError(
            f"{path!r} is not a media file of this run: files are served from media/<name> only"
        )
    return path


def resolve_media(run_dir: str, path: str) -> str:
    """The file ``path`` names inside ``run_dir``, after ``media_relpath`` and a symlink check."""
    media_relpath(path)
    media_dir = os.path.realpath(os.path.join(run_dir, MEDIA_DIR))
    full = os.path.realpath(os.path.join(run_dir, path))
    if os.path.dirname(full) != media_dir or not os.path.isfile(full):
        raise NotFoundError(f"no media file {path!r} in this run")
    return full


def content_type(path: str) -> str:
    name = path.rsplit("/", 1)[-1].lower()
    return CONTENT_TYPES.get(name.rsplit(".", 1)[-1], BINARY) if "." in name else BINARY
