"""A run as TensorBoard event files, for ``tensorboard --logdir DIR`` to show offline.

``localrun export RUN --format tensorboard -o DIR`` writes ``DIR/<run id>/events.out.tfevents.*``
with the ``tensorboard`` package's own protobufs and record writer (``RecordWriter``: the
framing with its masked CRC-32C), in the summary forms TensorBoard's plugins read today (a
tensor and the plugin's metadata, as ``tf.summary`` v2 writes them). The file begins, as
TensorBoard's ``EventFileWriter`` begins one, with an event naming the format version;
``EventFileWriter`` itself is not used because its writer thread hands over one event at a
time, which made an export four times slower than writing the records in this thread.

One event per history row, at the row's ``_step`` and with the row's ``_timestamp`` as its
wall time, holding a value for each key the mapping below takes:

============================  ==============================================================
localrun value                TensorBoard
============================  ==============================================================
int, float (bool as 0 or 1)   scalar, as a 32-bit float: TensorBoard's own scalar type (its
                              data server drops 64-bit ones), so about 7 significant digits
a dict of such (nested)       scalars ``key.sub``, as wandb names nested keys in its charts
                              (and a dict's str, media values likewise, under ``key.sub``)
str                           text
``image-file``                image (PNG, JPEG, GIF and BMP as stored; other formats, such as
                              WebP, converted to PNG); masks and boxes are not drawn
``images/separated``          one image summary holding each image (TensorBoard's samples)
``video-file`` (GIF)          image (the animated GIF); other video formats are left out
``histogram``                 histogram: one bucket per wandb bin, its edges and count
``audio-file`` (WAV)          audio; ``audio`` (a list of clips) one summary of all of them;
                              other audio formats are left out (TensorBoard plays WAV only);
                              captions are written as labels, which TensorBoard 2.x ignores
``html-file``                 text: the HTML source, in a code block
``table-file``                text: a Markdown table (the first 1,000 rows)
============================  ==============================================================

The config becomes one text summary, ``config``, at step 0: a table of each key and its value
as JSON. Anything else (Object3D, Molecule, graphs, lists, values of other
media types) is left out and named once per key in ``notes``.
"""

from __future__ import annotations

import io
import json
import math
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .exportdir import MediaFiles, need, prepare
from .protocol import SYNCING

#: The optional extra that brings the tensorboard package: ``pip install 'localrun[tensorboard]'``.
EXTRA = "tensorboard"
#: A table's rows written into its text summary, at most.
TABLE_ROWS = 1000
_STAMPS = frozenset(("_step", "_runtime", "_timestamp"))
#: Image formats TensorBoard's image plugin shows as stored (by their first bytes).
_SHOWN = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM")


@dataclass
class TensorBoardExport:
    """What an export wrote: the rows and the media files in its events, and what it left out."""

    log_dir: str
    rows: int = 0
    files: int = 0
    size_bytes: int = 0
    missing: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    running: bool = False


def _plain_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


class _Summaries:
    """Builds ``Summary.Value`` protos for each kind, with TensorBoard's plugin metadata."""

    def __init__(self) -> None:
        need(EXTRA, EXTRA)
        from tensorboard.compat.proto import (
            event_pb2,
            summary_pb2,
            tensor_pb2,
            tensor_shape_pb2,
            types_pb2,
        )
        from tensorboard.plugins.audio import metadata as audio
        from tensorboard.plugins.histogram import metadata as histogram
        from tensorboard.plugins.image import metadata as image
        from tensorboard.plugins.scalar import metadata as scalar
        from tensorboard.plugins.text import metadata as text
        from tensorboard.util import tensor_util

        self.event_pb2 = event_pb2
        self.summary_pb2 = summary_pb2
        self.make_tensor = tensor_util.make_tensor_proto
        self.TensorProto = tensor_pb2.TensorProto
        self.DT_FLOAT = types_pb2.DT_FLOAT
        self._shape = tensor_shape_pb2.TensorShapeProto()
        self._meta = {
            "scalar": scalar.create_summary_metadata("", ""),
            "image": image.create_summary_metadata("", ""),
            "histogram": histogram.create_summary_metadata("", ""),
            "audio": audio.create_summary_metadata("", "", encoding=audio.Encoding.Value("WAV")),
            "text": text.create_summary_metadata("", ""),
        }

    def scalar(self, tag: str, number: float):
        """A scalar summary: the float32 tensor ``make_tensor_proto(np.float32(number))``
        makes, built directly (five times faster; the protobuf rounds the double to float32,
        beyond its range to an infinity)."""
        tensor = self.TensorProto(
            dtype=self.DT_FLOAT, tensor_shape=self._shape, float_val=(number,)
        )
        return self.summary_pb2.Summary.Value(tag=tag, metadata=self._meta["scalar"], tensor=tensor)

    def value(self, kind: str, tag: str, tensor):
        return self.summary_pb2.Summary.Value(
            tag=tag, metadata=self._meta[kind], tensor=self.make_tensor(tensor)
        )


def export_tensorboard(
    open_view: Callable[[], Any],
    out_dir: str,
    dumps: Callable[[Any], str] = _plain_json,
) -> TensorBoardExport:
    """Write a run into ``out_dir`` (new or empty) as TensorBoard event files, in a folder
    named for the run's id. ``open_view()`` gives a view of the run (a ``RunView`` or
    ``RemoteRunView``); ``dumps`` writes a value as JSON text (for text summaries)."""
    import numpy as np

    pb = _Summaries()
    from tensorboard.summary.writer.record_writer import RecordWriter

    prepare(out_dir)
    first = open_view().scan().to_json()  # the config, before the rows
    view = open_view()
    media = MediaFiles(view)
    log_dir = os.path.join(out_dir, view.id)
    os.makedirs(log_dir)
    result = TensorBoardExport(log_dir)
    noted: set[str] = set()

    def note(key: str, why: str) -> None:
        if key not in noted:
            noted.add(key)
            result.notes.append(f"{key!r}: {why}")

    def file_bytes(path: Any, sha: Any) -> bytes | None:
        if type(path) is not str:
            return None
        data = media.read(path, sha if type(sha) is str else None)
        if data is not None:
            result.files += 1
            result.size_bytes += len(data)
        return data

    def add(step: int, when: float, values: list) -> None:
        summary = pb.summary_pb2.Summary(value=values)
        writer.write(
            pb.event_pb2.Event(wall_time=when, step=step, summary=summary).SerializeToString()
        )

    name = f"events.out.tfevents.{int(_first_time(first)):010d}.{socket.gethostname()}.localrun"
    writer = RecordWriter(open(os.path.join(log_dir, name), "wb"))
    version = pb.event_pb2.Event(wall_time=_first_time(first), file_version="brain.Event:2")
    writer.write(version.SerializeToString())
    try:
        if first.get("config"):
            config = [[k, dumps(v)] for k, v in first["config"].items()]
            text = _markdown_table(["key", "value"], config, dumps)
            add(0, _first_time(first), [pb.value("text", "config", np.array(text, dtype=object))])
        for row in view.rows():
            step = row.get("_step")
            when = row.get("_timestamp")
            values: list[Any] = []
            for key, value in row.items():
                if key in _STAMPS:
                    continue
                tag = key if type(key) is str else dumps(key)
                values.extend(_values(pb, np, tag, value, file_bytes, media, note, dumps))
            if values:
                add(
                    step if type(step) is int else result.rows,
                    float(when) if isinstance(when, (int, float)) else 0.0,
                    values,
                )
            result.rows += 1
        result.running = view.to_json().get("state") in ("running", SYNCING)
    finally:
        writer.close()
    result.missing = media.missing
    return result


def _first_time(doc: dict) -> float:
    created = doc.get("created_at")
    return float(created) if isinstance(created, (int, float)) else 0.0


def _values(pb, np, tag: str, value: Any, file_bytes, media, note, dumps) -> Iterator:
    """The summary values one key of a row becomes (none for what TensorBoard cannot show)."""
    t = type(value)
    if t is int or t is float or t is bool:
        try:
            number = float(value)
        except OverflowError:  # an int beyond any float: as far as a float goes
            number = math.copysign(math.inf, value)
        yield pb.scalar(tag, number)
        return
    if t is str:
        yield pb.value("text", tag, np.array(value, dtype=object))
        return
    if t is not dict:
        if value is not None:
            note(tag, f"a {t.__name__} value; TensorBoard has no place for it, left out")
        return
    kind = value.get("_type")
    if kind is None:  # a nested dict: its numbers as scalars, named as wandb names them
        for sub, inner in value.items():
            name = f"{tag}.{sub if type(sub) is str else dumps(sub)}"
            yield from _values(pb, np, name, inner, file_bytes, media, note, dumps)
        return
    if kind == "histogram":
        bins, counts = value.get("bins"), value.get("values")
        if type(bins) is list and type(counts) is list and len(bins) == len(counts) + 1:
            try:
                buckets = np.array(
                    [[bins[i], bins[i + 1], counts[i]] for i in range(len(counts))],
                    dtype=np.float64,
                )
            except (TypeError, ValueError):
                buckets = None
            if buckets is not None:
                yield pb.value("histogram", tag, buckets.reshape(len(counts), 3))
                return
        note(tag, "a histogram whose bins and values do not fit together; left out")
        return
    if kind == "image-file" or (kind == "video-file" and value.get("format") == "gif"):
        if kind == "image-file" and (value.get("masks") or value.get("boxes")):
            note(tag, "masks and boxes are not drawn: TensorBoard shows the image alone")
        image = _image(np, value, file_bytes(value.get("path"), value.get("sha256")))
        if image is not None:
            width, height, data = image
            yield pb.value("image", tag, np.array([width, height, data], dtype=object))
        return
    if kind == "images/separated":
        names = value.get("filenames")
        hashes = value.get("sha256s")
        shown = []
        for i, name in enumerate(names if type(names) is list else []):
            sha = hashes[i] if type(hashes) is list and i < len(hashes) else None
            image = _image(np, value, file_bytes(name, sha))
            if image is not None:
                shown.append(image)
        if value.get("all_masks") or value.get("all_boxes"):
            note(tag, "masks and boxes are not drawn: TensorBoard shows the images alone")
        if shown:
            width, height = shown[0][0], shown[0][1]
            yield pb.value(
                "image", tag, np.array([width, height] + [d for _, _, d in shown], dtype=object)
            )
        return
    if kind in ("audio-file", "audio"):
        clips = value.get("audio") if kind == "audio" else [value]
        captions = value.get("captions") if kind == "audio" else [value.get("caption")]
        pairs = []
        for i, clip in enumerate(clips if type(clips) is list else []):
            if type(clip) is not dict:
                continue
            data = file_bytes(clip.get("path"), clip.get("sha256"))
            if data is None:
                continue
            if not data.startswith(b"RIFF"):
                note(
                    tag,
                    f"{clip.get('format') or 'non-WAV'} audio; TensorBoard plays WAV only, left out",
                )
                continue
            label = captions[i] if type(captions) is list and i < len(captions) else None
            pairs.append([data, (label if type(label) is str else "").encode()])
        if pairs:
            yield pb.value("audio", tag, np.array(pairs, dtype=object))
        return
    if kind == "html-file":
        data = file_bytes(value.get("path"), value.get("sha256"))
        if data is not None:
            source = data.decode("utf-8", "replace")
            fence = "~~~~" if "```" in source else "```"
            text = f"{fence}html\n{source}\n{fence}"
            yield pb.value("text", tag, np.array(text, dtype=object))
        return
    if kind in ("table-file", "joined-table", "partitioned-table"):
        cells = media.table(value)
        if type(cells) is dict and type(cells.get("columns")) is list:
            cell_rows = cells.get("data")
            rows: list[Any] = cell_rows if isinstance(cell_rows, list) else []
            text = _markdown_table(cells["columns"], rows, dumps)
            yield pb.value("text", tag, np.array(text, dtype=object))
        elif cells is not None:
            note(tag, f"a {kind} TensorBoard cannot show as a table; left out")
        return
    if kind == "video-file":
        fmt = value.get("format") or "this"
        note(tag, f"{fmt} video; TensorBoard shows only GIF animations (as images), left out")
        return
    note(tag, f"{kind} values have no TensorBoard form; left out")


def _image(np, value: dict, data: bytes | None) -> tuple[bytes, bytes, bytes] | None:
    """``(width, height, image bytes)`` as TensorBoard's image summary holds them, converting
    formats its image plugin does not show to PNG."""
    if data is None:
        return None
    width, height = value.get("width"), value.get("height")
    if not data.startswith(_SHOWN) or type(width) is not int or type(height) is not int:
        from PIL import Image

        try:
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
                if not data.startswith(_SHOWN):
                    out = io.BytesIO()
                    im.save(out, "PNG")
                    data = out.getvalue()
        except Exception:  # a file Pillow cannot read: there is no image to show
            return None
    return str(width).encode(), str(height).encode(), data


def _cell(value: Any, dumps) -> str:
    if type(value) is str:
        text = value
    elif type(value) is dict and "_type" in value:
        where = value.get("path") or ""
        text = f"{value['_type']} {where}".strip()
    else:
        text = dumps(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _markdown_table(columns: list, rows: list, dumps) -> str:
    """A Markdown table (TensorBoard's text plugin renders one), of at most TABLE_ROWS rows."""
    head = [_cell(c, dumps) for c in columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows[:TABLE_ROWS]:
        cells = row if type(row) is list else [row]
        lines.append("| " + " | ".join(_cell(c, dumps) for c in cells) + " |")
    if len(rows) > TABLE_ROWS:
        lines.append(f"\n({len(rows) - TABLE_ROWS:,} more rows not shown)")
    return "\n".join(lines)
