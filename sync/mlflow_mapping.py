"""What each part of a localrun run becomes in MLflow (docs/sync.md, "MLflow", says it in a table).

- config: params, nested dicts flattened with dotted keys, each value as ``str()`` gives it
  (what ``mlflow.log_params`` sends).
- a history row: one metric point per number (bools as 0 and 1) with the row's ``_step`` and
  ``_timestamp`` in milliseconds; nested dicts flattened with dotted keys; media values become
  artifact files (``Artifact``); text and lists of plain values have no MLflow counterpart.
- the summary: metrics for its numbers that history does not hold.

Names MLflow refuses (it takes letters, digits, ``_ - . / : `` and space, and no name that is
not its own normal path) are found here before a batch is sent, so one such key does not cost
a whole batch.
"""

from __future__ import annotations

import io
import json
import math
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass

from localrun.blobs import MEDIA_DIR
from localrun.mediarefs import file_refs, media_values

MAX_METRICS_PER_CALL = 1000  # MLflow's limits for one log-batch call
MAX_PARAMS_PER_CALL = 100
MAX_TAGS_PER_CALL = 100
MAX_KEY_CHARS = 250
MAX_PARAM_CHARS = 6000  # longer values the server refuses (MLflow 2.x and 3.x)
MAX_TAG_CHARS = 8000
COMPRESSED_IMAGE_PX = 256  # the side of the thumbnails MLflow's UI shows for logged images

_NAME = re.compile(r"[/\w.\- :]*")  # MLflow's rule for param, metric and tag names
_IMAGE_KEY = re.compile(r"[a-zA-Z0-9_\-./ ]+")  # mlflow.log_image(key=...)'s rule
_UNSAFE = re.compile(r"[^\w.\- ]+")
_STAMPS = frozenset(("_step", "_runtime", "_timestamp"))
_NUMBER = (int, float)


def name_problem(name: str) -> str | None:
    """Why MLflow would refuse ``name`` as a param, metric or tag name, or None."""
    if not name:
        return "MLflow takes no empty names"
    if len(name) > MAX_KEY_CHARS:
        return f"MLflow takes names of at most {MAX_KEY_CHARS} characters, and it has {len(name):,}"
    if not _NAME.fullmatch(name):
        return (
            "MLflow takes only letters, digits, _ - . / : and spaces in names; rename the key in "
            "your code for later runs"
        )
    norm = posixpath.normpath(name)
    if norm != name or norm == "." or norm.startswith(("..", "/")):
        return f"MLflow takes no name that reads as another path ({norm!r})"
    return None


# --- config --------------------------------------------------------------------------------------


def params_of(config: dict) -> dict[str, str]:
    """``{dotted key: str(value)}`` for every leaf of the config (wandb's own ``_wandb`` left out)."""
    out: dict[str, str] = {}
    for key, value in config.items():
        if key == "_wandb":
            continue
        _flatten_param(str(key), value, out)
    return out


def _flatten_param(key: str, value, out: dict[str, str]) -> None:
    if type(value) is dict and value and "_type" not in value:
        for k, v in value.items():
            _flatten_param(f"{key}.{k}", v, out)
        return
    if type(value) is dict:  # an empty dict, or a media value
        out[key] = json.dumps(value, separators=(",", ":"))
        return
    out[key] = str(value)


# --- numbers -------------------------------------------------------------------------------------


def numbers_of(data: dict, prefix: str = "") -> Iterator[tuple[str, float]]:
    """``(dotted key, value)`` for each number (bools as 0/1) of a row or summary, stamps left out."""
    for key, value in data.items():
        t = type(value)
        if t is float or t is int:
            if not prefix and key in _STAMPS:
                continue
            yield prefix + str(key), float(value)
        elif t is bool:
            yield prefix + str(key), 1.0 if value else 0.0
        elif t is dict and "_type" not in value:
            yield from numbers_of(value, f"{prefix}{key}.")
        elif t is not str and isinstance(value, _NUMBER) and not isinstance(value, bool):
            yield prefix + str(key), float(value)  # numpy scalars in hand-made rows


def media_of(data: dict, prefix: str = "") -> Iterator[tuple[str, object]]:
    """``(dotted key, value)`` for each value of a row holding media (a ``_type`` value, or a
    list of them)."""
    for key, value in data.items():
        t = type(value)
        if t is dict:
            if "_type" in value:
                yield prefix + str(key), value
            else:
                yield from media_of(value, f"{prefix}{key}.")
        elif t is list and any(True for _ in media_values(value)):
            yield prefix + str(key), value


def finite(v: float) -> bool:
    return math.isfinite(v)


# --- media ---------------------------------------------------------------------------------------


@dataclass
class Artifact:
    """One file to put in the MLflow run: ``path`` in its artifacts, and where the bytes come
    from: ``source`` (a file of the run, relative to it), or ``content`` (made here)."""

    path: str
    source: str | None = None
    content: bytes | None = None
    #: Made from ``source`` by ``thumbnail()`` (MLflow's UI shows logged images by these).
    thumbnail: bool = False
    #: Named by its content (``media/<key>/<sha256>.<ext>``): sent once per run, remembered.
    once: bool = False


def folder_of(key: str) -> str:
    """The artifact folder for a key: ``media/<key>``, each part of the key made path-safe."""
    parts = [_UNSAFE.sub("_", p).strip(" ") for p in key.split("/")]
    parts = [("_" if p in ("", ".", "..") else p) for p in parts]
    return "/".join([MEDIA_DIR, *parts])


def _value_json(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), allow_nan=True).encode()


def artifacts_for(key: str, value, step: int | str, timestamp_ms: int) -> list[Artifact]:
    """The files one media value (or list of them) at ``key`` and ``step`` becomes.

    - every file it names: ``media/<key>/<file name>`` (the file names are content hashes:
      each is sent once per key);
    - the value itself, as wandb's JSON: ``media/<key>/<step>.<_type>.json``;
    - an ``image-file`` also in MLflow's own layout for logged images,
      ``images/<key>+step+<step>+timestamp+<ms>+<id>.<ext>`` with its ``+compressed.webp``
      thumbnail, so the run's page in MLflow's UI shows it by step (keys MLflow takes there);
    - a table (a ``table-file``, or a ``table`` value holding its rows): MLflow's table JSON
      instead, ``media/<key>/<step>.table.json`` (see ``table_artifact``).
    """
    folder = folder_of(key)
    out: list[Artifact] = []
    kind = value.get("_type") if type(value) is dict else "list"
    if kind == "table-file" and type(value.get("path")) is str:
        return [Artifact(f"{folder}/{step}.table.json", source=value["path"])]
    if kind == "table" and type(value.get("data")) is list:  # a table held in the value itself
        content, files = table_artifact(key, value)
        return [Artifact(f"{folder}/{step}.table.json", content=content), *files]
    shown = (  # an image MLflow's UI shows: its file goes to images/ only
        kind == "image-file"
        and type(value.get("path")) is str
        and type(step) is int
        and _IMAGE_KEY.fullmatch(key) is not None
    )
    for media in media_values(value):
        for path, _sha in file_refs(media):
            if shown and media is value and path == value["path"]:
                continue
            out.append(Artifact(f"{folder}/{posixpath.basename(path)}", source=path, once=True))
    if shown:
        sha = str(value.get("sha256") or "")
        ident = (
            f"{sha[:8]}-{sha[8:12]}-{sha[12:16]}-{sha[16:20]}-{sha[20:32]}"
            if len(sha) >= 32
            else "0"
        )
        ext = posixpath.splitext(value["path"])[1] or ".png"
        stem = f"images/{key.replace('/', '~')}+step+{step}+timestamp+{timestamp_ms}+{ident}"
        out.append(Artifact(f"{stem}{ext}", source=value["path"]))
        out.append(Artifact(f"{stem}+compressed.webp", source=value["path"], thumbnail=True))
    out.append(Artifact(f"{folder}/{step}.{_safe_type(kind)}.json", content=_value_json(value)))
    return out


def _safe_type(kind) -> str:
    return _UNSAFE.sub("_", str(kind)).replace("/", "_") or "value"


def table_artifact(key: str, table: dict) -> tuple[bytes, list[Artifact]]:
    """A localrun table file (``{"columns", "data"}``) as MLflow's table JSON (what
    ``mlflow.log_table`` writes: pandas' ``split`` orient, no index), and the files its cells
    name. An image in a cell becomes MLflow's ``{"type": "image", "filepath", ...}`` cell;
    other media stay their wandb JSON, with ``path`` pointing into the run's artifacts."""
    folder = folder_of(key)
    files: list[Artifact] = []
    data = []
    for row in table.get("data") or []:
        cells = []
        for cell in row if type(row) is list else [row]:
            if type(cell) is dict and "_type" in cell:
                refs = list(file_refs(cell))
                for path, _ in refs:
                    files.append(
                        Artifact(f"{folder}/{posixpath.basename(path)}", source=path, once=True)
                    )
                if cell["_type"] == "image-file" and type(cell.get("path")) is str:
                    where = f"{folder}/{posixpath.basename(cell['path'])}"
                    cell = {"type": "image", "filepath": where, "compressed_filepath": where}
                elif type(cell.get("path")) is str:
                    cell = {**cell, "path": f"{folder}/{posixpath.basename(cell['path'])}"}
            cells.append(cell)
        data.append(cells)
    body = {"columns": list(table.get("columns") or []), "data": data}
    return _value_json(body), files


def thumbnail(data: bytes) -> bytes:
    """The small WEBP MLflow's UI shows for a logged image (at most 256 pixels a side)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        im.load()
        width, height = im.size
        if width >= height:
            size = (COMPRESSED_IMAGE_PX, max(1, height * COMPRESSED_IMAGE_PX // max(1, width)))
        else:
            size = (max(1, width * COMPRESSED_IMAGE_PX // max(1, height)), COMPRESSED_IMAGE_PX)
        small = im.convert("RGBA" if "A" in im.getbands() else "RGB").resize(size)
        out = io.BytesIO()
        small.save(out, "WEBP")
        return out.getvalue()
