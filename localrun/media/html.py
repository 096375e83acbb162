"""Html: a page stored as a ``.html`` file. Offline: the default style is inlined, never linked."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from ..errors import MediaError, MediaTypeError
from .base import Media
from .source import is_file, read_source

if TYPE_CHECKING:
    from ..blobs import BlobStore

# A small stylesheet in the spirit of wandb's (which links one on a server): readable type,
# tables with borders. Inlined, so the page renders the same with no network.
DEFAULT_STYLE = (
    "<style>"
    "html{font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;"
    "font-size:14px;line-height:1.4;color:#1a1a1a}"
    "body{margin:8px}"
    "table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:2px 6px}"
    "img,video{max-width:100%}"
    "</style>"
)

# The opening tag itself, not <header> or <html-foo>.
_HEAD = re.compile(r"<head(?:\s[^>]*)?>", re.IGNORECASE)
_HTML = re.compile(r"<html(?:\s[^>]*)?>", re.IGNORECASE)


class Html(Media):
    """An HTML page, logged as wandb's ``html-file``.

    ``Html(data, inject=True)``: ``data`` is the HTML as a str, or an open file (or a
    ``pathlib.Path``) holding it; a str that is the path of an existing ``.html`` file is read
    from there unless ``data_is_not_path=True``. ``inject=True`` adds an inline default
    stylesheet.
    """

    _type = "html-file"

    def __init__(self, data: Any, inject: bool = True, data_is_not_path: bool = False):
        if isinstance(data, str) and not (
            not data_is_not_path
            and data.lower().endswith((".html", ".htm"))
            and os.path.isfile(data)
        ):
            html = data
        elif (
            isinstance(data, str)
            or is_file(data)
            or (hasattr(data, "__fspath__") and not isinstance(data, bytes))
        ):
            raw, name = read_source(data, "Html()", "data")
            try:
                html = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise MediaError(f"Html(): {name or 'the file'} is not UTF-8 text") from None
        elif isinstance(data, bytes):
            try:
                html = data.decode("utf-8")
            except UnicodeDecodeError:
                raise MediaError("Html(): data is bytes that are not UTF-8 text") from None
        else:
            raise MediaTypeError(
                f"Html() takes the HTML as a str, or an open file, as data; not {type(data).__name__}"
            )
        self.html = inject_style(html) if inject else html

    def _encode(self, store: BlobStore) -> dict[str, Any]:
        return {"_type": "html-file", **store.put(self.html.encode("utf-8"), "html")}

    def __eq__(self, other: object) -> bool:
        """Equal when the pages are (as stored, style included), as wandb's Html."""
        return isinstance(other, Html) and self.html == other.html

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = None  # type: ignore[assignment]


def inject_style(html: str) -> str:
    """``html`` with the default stylesheet at the start of its head (a head is added if none)."""
    head = _HEAD.search(html)
    if head is not None:
        return html[: head.end()] + DEFAULT_STYLE + html[head.end() :]
    tag = _HTML.search(html)
    if tag is not None:
        return html[: tag.end()] + "<head>" + DEFAULT_STYLE + "</head>" + html[tag.end() :]
    return "<head>" + DEFAULT_STYLE + "</head>" + html
