"""Video: arrays encoded with PyAV (its wheels carry ffmpeg), files stored as they are.

PyAV is optional (``pip install 'localrun[video]'``): only encoding an array needs it.
"""

from __future__ import annotations

import io
import math
import numbers
from typing import TYPE_CHECKING, Any

from ..errors import MediaError, MediaTypeError
from .base import Media
from .source import extension, is_file, is_path, read_source

if TYPE_CHECKING:
    from ..blobs import BlobStore

FORMATS = ("gif", "mp4", "webm", "ogg")
# format -> (ffmpeg codec, pixel format). Ogg carries VP8 here: PyAV's wheels have no Theora.
# GIF frames get a palette of their own (Pillow's median cut), far truer than ffmpeg's fixed rgb8.
_CODECS = {
    "gif": ("gif", "pal8"),
    "mp4": ("libx264", "yuv420p"),
    "webm": ("libvpx", "yuv420p"),
    "ogg": ("libvpx", "yuv420p"),
}


class Video(Media):
    """A video, logged as wandb's ``video-file``.

    ``Video(data_or_path, caption=None, fps=4, format=None)``: a uint8 numpy array
    (time, channels, height, width), or (batch, time, channels, height, width) with the batch
    tiled into a grid, is encoded as ``format`` (gif by default; mp4, webm, ogg); a path or
    open file (``io.BytesIO`` too) is stored as it is, after its format is checked.
    """

    _type = "video-file"

    def __init__(
        self,
        data_or_path: Any,
        caption: str | None = None,
        fps: int | float = 4,
        format: str | None = None,
    ):
        self._caption = None if caption is None else str(caption)
        if isinstance(fps, bool) or not isinstance(fps, numbers.Real) or not 0 < fps <= 1000:
            raise MediaError(
                f"Video(): fps must be a number of frames per second in (0, 1000], not {fps!r}"
            )
        self._fps: float = fps
        fmt = None
        if format is not None:
            fmt = str(format).lower().lstrip(".")
            if fmt not in FORMATS:
                raise MediaError(
                    f"Video(): format={format!r} is not supported; use one of {', '.join(FORMATS)}"
                )
        self._width: int | None = None
        self._height: int | None = None
        self._frames: int | None = None
        self._array: Any = None  # frames to encode, or None for a file stored as is
        self._bytes: bytes | None
        self._format: str
        if is_path(data_or_path) or is_file(data_or_path):
            data, name = read_source(data_or_path, "Video()")
            sniffed = _sniff(data)
            ext = extension(name, FORMATS) or fmt or sniffed
            if ext is None:
                raise MediaError(
                    f"Video(): cannot tell the format of {name or 'the file'}; pass a {', '.join(FORMATS)} file "
                    "(or format= for an io.BytesIO)"
                )
            if sniffed is None:
                raise MediaError(
                    f"Video(): {name or 'the file'} is not a {', '.join(FORMATS)} video (its content is none of them)"
                )
            if sniffed != ext:
                raise MediaError(
                    f"Video(): {name or 'the file'} is named or declared {ext} but holds {sniffed} data"
                )
            self._bytes, self._format = data, ext
        else:
            frames = _frames(data_or_path)
            self._format = fmt or "gif"
            self._frames, self._height, self._width = (
                frames.shape[0],
                frames.shape[1],
                frames.shape[2],
            )
            self._array = frames
            self._bytes = None

    def _encode(self, store: BlobStore) -> dict[str, Any]:
        data = self._bytes
        if data is None:
            data = encode_frames(self._array, self._format, self._fps)
        value: dict[str, Any] = {
            "_type": "video-file",
            **store.put(data, self._format),
            "format": self._format,
        }
        if self._width is not None:
            value.update(width=self._width, height=self._height, frames=self._frames, fps=self._fps)
        if self._caption is not None:
            value["caption"] = self._caption
        return value


def _frames(data: Any):
    """The frames as a (time, height, width, 3) uint8 array; batches tiled into a grid."""
    import numpy as np

    if type(data).__module__.startswith("torch"):
        data = data.detach().cpu().numpy()
    if not (type(data).__module__.startswith("numpy") or hasattr(data, "__array__")):
        raise MediaTypeError(
            "Video() takes a numpy array (time, channels, height, width), a path or an open file as data_or_path, "
            f"not {type(data).__name__}"
        )
    arr = np.asarray(data)
    if arr.dtype.kind not in "biuf":
        raise MediaTypeError(
            f"Video(): an array of dtype {arr.dtype} is not video; pass uint8 pixels"
        )
    if arr.ndim == 4:
        arr = arr[None]
    if arr.ndim != 5 or arr.shape[2] not in (1, 3, 4):
        raise MediaError(
            f"Video(): an array of shape {np.shape(data)} is not video; pass (time, channels, height, width) or "
            "(batch, time, channels, height, width) with 1, 3 or 4 channels"
        )
    b, t, c, h, w = arr.shape
    if 0 in (b, t, h, w):
        raise MediaError(f"Video(): an array of shape {arr.shape} has no frames or no pixels")
    if arr.dtype != np.uint8:
        arr = (
            np.nan_to_num(arr).clip(0, 255).astype(np.uint8)
            if arr.dtype.kind == "f"
            else arr.clip(0, 255).astype(np.uint8)
        )
    if c == 1:
        arr = np.repeat(arr, 3, axis=2)
    elif c == 4:
        arr = arr[:, :, :3]
    cols = math.ceil(math.sqrt(b))
    rows = math.ceil(b / cols)
    if rows * cols != b:
        pad = np.zeros((rows * cols - b, t, 3, h, w), dtype=np.uint8)
        arr = np.concatenate([arr, pad])
    # (rows, cols, t, 3, h, w) -> (t, rows, h, cols, w, 3) -> (t, rows*h, cols*w, 3)
    grid = (
        arr.reshape(rows, cols, t, 3, h, w)
        .transpose(2, 0, 4, 1, 5, 3)
        .reshape(t, rows * h, cols * w, 3)
    )
    return np.ascontiguousarray(grid)


def encode_frames(frames: Any, fmt: str, fps: float) -> bytes:
    """Encode (time, height, width, 3) uint8 frames; every frame is kept (none dropped)."""
    try:
        import av
    except ImportError:
        raise MediaError(
            "Video(): encoding an array needs PyAV. Install it with: pip install 'localrun[video]' (or pip install av)"
        ) from None
    from fractions import Fraction

    import numpy as np

    codec, pix_fmt = _CODECS[fmt]
    t, h, w, _ = frames.shape
    if pix_fmt == "yuv420p" and (
        h % 2 or w % 2
    ):  # 4:2:0 needs even sides: pad one black row/column
        frames = np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)))
        t, h, w, _ = frames.shape
    rate = Fraction(fps).limit_denominator(1000)
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        for frame in frames:
            vf = (
                _pal8_frame(av, frame)
                if pix_fmt == "pal8"
                else av.VideoFrame.from_ndarray(frame, format="rgb24")
            )
            for packet in stream.encode(vf):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def _pal8_frame(av: Any, frame: Any):
    """One RGB frame as a palette frame: Pillow picks the frame's 256 colours (no dithering)."""
    import numpy as np
    from PIL import Image as PILImage

    im = PILImage.fromarray(frame).quantize(256, dither=PILImage.Dither.NONE)
    colours = im.getpalette(rawmode="RGB")
    assert colours is not None  # quantize() always makes a palette image
    rgb = np.frombuffer(bytes(colours), dtype=np.uint8).reshape(-1, 3)[:256]
    palette = np.zeros((256, 4), dtype=np.uint8)  # ARGB
    palette[:, 0] = 255
    palette[: len(rgb), 1:] = rgb
    return av.VideoFrame.from_ndarray((np.asarray(im), palette), format="pal8")


def _sniff(data: bytes) -> str | None:
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[4:8] == b"ftyp":
        return "mp4"
    if data[:4] == b"\x1aE\xdf\xa3":
        return "webm"
    if data[:4] == b"OggS":
        return "ogg"
    return None
