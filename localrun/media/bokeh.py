"""Bokeh: a bokeh plot (a model or document, or a bokeh JSON file) stored as wandb's
``bokeh-file``. bokeh is optional: needed only to pass a bokeh object."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..errors import MediaError, MediaTypeError
from .base import Media
from .source import is_path, read_source

if TYPE_CHECKING:
    from ..blobs import BlobStore


class Bokeh(Media):
    """A bokeh plot, logged as wandb's ``bokeh-file``: ``media/<sha256>.bokeh.json`` holds
    the bokeh document's JSON (``Document.to_json()``), which BokehJS draws.

    ``Bokeh(data_or_path)``: a bokeh model (a ``figure``, a layout) or ``Document``, or the
    path of a ``.bokeh.json`` file, stored byte for byte.
    """

    _type = "bokeh-file"

    def __init__(self, data_or_path: Any):
        if is_path(data_or_path):
            data, name = read_source(data_or_path, "Bokeh()")
            try:
                json.loads(data)
            except ValueError as exc:
                raise MediaError(f"Bokeh(): {name} is not a bokeh JSON file: {exc}") from None
            self._json = data
            return
        if not type(data_or_path).__module__.startswith("bokeh"):
            raise MediaTypeError(
                "Bokeh() takes a bokeh model or document, or the path of a bokeh JSON file, "
                f"not {type(data_or_path).__name__}"
            )
        try:
            from bokeh.document import Document
            from bokeh.model import Model
        except ImportError:  # pragma: no cover (a bokeh object without bokeh)
            raise MediaError("Bokeh() needs bokeh: pip install bokeh") from None
        if isinstance(data_or_path, Model):
            doc = Document()
            doc.add_root(data_or_path)
        elif isinstance(data_or_path, Document):
            doc = data_or_path
        else:
            raise MediaTypeError(
                f"Bokeh() takes a bokeh model or document, not {type(data_or_path).__name__}"
            )
        body = doc.to_json(deferred=False) if _takes_deferred(doc) else doc.to_json()
        self._json = json.dumps(body, default=_plain, separators=(",", ":")).encode("utf-8")

    def _encode(self, store: BlobStore) -> dict[str, Any]:
        return {"_type": "bokeh-file", **store.put(self._json, "bokeh.json")}


def _takes_deferred(doc: Any) -> bool:
    import inspect

    try:
        return "deferred" in inspect.signature(doc.to_json).parameters
    except (TypeError, ValueError):
        return False


def _plain(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "to_json"):
        return obj.to_json()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")
