"""Audio: arrays stored as WAV (with the standard library's ``wave``), files stored as they are."""

from __future__ import annotations

import io
import numbers
import wave
from typing import TYPE_CHECKING, Any

from ..errors import MediaError, MediaTypeError
from .base import Media
from .source import extension, is_file, is_path, read_source

if TYPE_CHECKING:
    from ..blobs import BlobStore

FORMATS = ("wav", "mp3", "flac", "ogg", "oga", "opus", "m4a", "aac", "webm")
MAX_CHANNELS = 64


class Audio(Media):
    """A sound clip, logged as wandb's ``audio-file``; a list of clips as ``audio``.

    ``Audio(data_or_path, sample_rate=None, caption=None)``: a numpy array (samples, or
    samples x channels) needs ``sample_rate`` and is stored as 16-bit PCM WAV (floats are
    taken as -1..1; int16, int32 and uint8 arrays keep their sample width); a path or open
    file is stored byte for byte.
    """

    _type = "audio-file"

    def __init__(
        self, data_or_path: Any, sample_rate: int | None = None, caption: str | None = None
    ):
        self._caption = None if caption is None else str(caption)
        self._sample_rate = _check_rate(sample_rate) if sample_rate is not None else None
        self._duration: float | None = None
        if is_path(data_or_path) or is_file(data_or_path):
            data, name = read_source(data_or_path, "Audio()")
            ext = extension(name, FORMATS) or _sniff(data)
            if ext is None:
                raise MediaError(
                    f"Audio(): cannot tell the format of {name or 'the file'}; pass a file ending in one of "
                    f"{', '.join('.' + f for f in FORMATS)}"
                )
            self._bytes, self._ext = data, ext
            if ext == "wav":
                self._read_wav_header(data, name)
        else:
            if self._sample_rate is None:
                raise MediaError(
                    "Audio(): sample_rate is required when data_or_path is an array (e.g. sample_rate=16000)"
                )
            self._bytes, frames = _wav_bytes(data_or_path, self._sample_rate)
            self._ext = "wav"
            self._duration = frames / self._sample_rate

    def _read_wav_header(self, data: bytes, name: str | None) -> None:
        try:
            with wave.open(io.BytesIO(data)) as w:
                rate, frames = w.getframerate(), w.getnframes()
        except (wave.Error, EOFError) as exc:
            raise MediaError(
                f"Audio(): {name or 'the file'} is not a readable WAV file: {exc}"
            ) from None
        if self._sample_rate is None:
            self._sample_rate = rate
        self._duration = frames / rate if rate else None

    @property
    def sample_rate(self) -> int | None:
        return self._sample_rate

    @property
    def duration(self) -> float | None:
        """Seconds of sound (None for a compressed file: only a WAV header says it)."""
        return self._duration

    @classmethod
    def durations(cls, audio_list: list[Audio]) -> list[float | None]:
        """The duration of each clip, as wandb's ``Audio.durations``."""
        return [a._duration for a in audio_list]

    @classmethod
    def sample_rates(cls, audio_list: list[Audio]) -> list[int | None]:
        """The sample rate of each clip, as wandb's ``Audio.sample_rates``."""
        return [a._sample_rate for a in audio_list]

    @classmethod
    def captions(cls, audio_list: list[Audio]) -> list[str] | bool:
        """The captions ("" where none), or False when no clip has one (wandb's rule)."""
        captions = [a._caption for a in audio_list]
        return [c or "" for c in captions] if any(c is not None for c in captions) else False

    def _encode(self, store: BlobStore) -> dict[str, Any]:
        value = {"_type": "audio-file", **store.put(self._bytes, self._ext), "format": self._ext}
        if self._sample_rate is not None:
            value["sample_rate"] = self._sample_rate
        if self._duration is not None:
            value["duration"] = self._duration
        if self._caption is not None:
            value["caption"] = self._caption
        return value

    @classmethod
    def combine(cls, items: list[Audio], store: BlobStore) -> dict[str, Any] | None:
        values = [a.to_json(store) for a in items]
        out: dict[str, Any] = {
            "_type": "audio",
            "count": len(values),
            "audio": values,
            "sampleRates": cls.sample_rates(items),
            "durations": cls.durations(items),
        }
        captions = cls.captions(items)
        if captions:
            out["captions"] = captions
        return out


def _check_rate(rate: Any) -> int:
    # rate stays Any: typeshed's numbers.Real has no __int__, though every Real converts.
    real = isinstance(rate, numbers.Real) and not isinstance(rate, bool)
    if not real or rate != int(rate) or int(rate) <= 0:
        raise MediaError(
            f"Audio(): sample_rate must be a positive whole number of samples per second, not {rate!r}"
        )
    return int(rate)


def _wav_bytes(data: Any, rate: int) -> tuple[bytes, int]:
    """The WAV file of an array of samples, and its number of frames."""
    import numpy as np

    if type(data).__module__.startswith("torch"):
        data = data.detach().cpu().numpy()
    if not (
        type(data).__module__.startswith("numpy")
        or isinstance(data, (list, tuple))
        or hasattr(data, "__array__")
    ):
        raise MediaTypeError(
            f"Audio() takes a numpy array of samples, a path or an open file as data_or_path, not {type(data).__name__}"
        )
    arr = np.asarray(data)
    if arr.dtype.kind not in "iuf":
        raise MediaTypeError(
            f"Audio(): an array of dtype {arr.dtype} holds no samples; pass floats in -1..1 or int16"
        )
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or not 1 <= arr.shape[1] <= MAX_CHANNELS:
        raise MediaError(
            f"Audio(): an array of shape {np.shape(data)} is not audio; pass (samples,) or (samples, channels) "
            f"with at most {MAX_CHANNELS} channels"
        )
    if arr.shape[0] == 0:
        raise MediaError("Audio(): the array holds no samples")
    if arr.dtype.kind == "f":
        arr = np.nan_to_num(arr, nan=0.0, posinf=1.0, neginf=-1.0)
        pcm, width = (np.clip(arr, -1.0, 1.0) * 32767).astype("<i2"), 2
    elif arr.dtype == np.uint8:
        pcm, width = arr, 1  # WAV's 8-bit PCM is unsigned
    elif arr.dtype.itemsize <= 2:
        pcm, width = arr.astype("<i2"), 2
    else:
        pcm, width = np.clip(arr, -(2**31), 2**31 - 1).astype("<i4"), 4
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(arr.shape[1])
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(np.ascontiguousarray(pcm).tobytes())
    return buf.getvalue(), arr.shape[0]


def _sniff(data: bytes) -> str | None:
    head = data[:12]
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:3] == b"ID3" or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "mp3"
    return None
