"""Audio: arrays stored as WAV and decoded with the wave module; files stored as they are."""

from __future__ import annotations

import wave

import numpy as np
import pytest

import localrun
from localrun.errors import MediaError, MediaTypeError

from .readback import FIXTURES, file_of, last


def read_wav(path):
    with wave.open(str(path)) as w:
        frames = w.readframes(w.getnframes())
        return w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes(), frames


def test_float_array_is_16_bit_wav_with_rate_and_length(run):
    samples = np.sin(np.linspace(0, 200, 16000)).astype(np.float32)
    localrun.log({"clip": localrun.Audio(samples, sample_rate=16000, caption="Nice")})
    value = last(run, "clip")
    assert (
        value["_type"] == "audio-file"
        and value["sample_rate"] == 16000
        and value["caption"] == "Nice"
    )
    rate, channels, width, n, frames = read_wav(file_of(run, value))
    assert (rate, channels, width, n) == (16000, 1, 2, 16000)
    np.testing.assert_array_equal(np.frombuffer(frames, "<i2"), (samples * 32767).astype(np.int16))


def test_int16_stereo_is_stored_exactly(run):
    samples = np.random.default_rng(0).integers(-32768, 32767, (500, 2), dtype=np.int16)
    localrun.log({"clip": localrun.Audio(samples, sample_rate=44100)})
    rate, channels, width, n, frames = read_wav(file_of(run, last(run, "clip")))
    assert (rate, channels, width, n) == (44100, 2, 2, 500)
    np.testing.assert_array_equal(np.frombuffer(frames, "<i2").reshape(500, 2), samples)


def test_tiny_sample_rate_from_the_seeds(run):
    localrun.log({"examples": [localrun.Audio(np.zeros(64), caption="Nice", sample_rate=32)]})
    value = last(run, "examples")
    assert value["_type"] == "audio" and value["count"] == 1
    assert value["sampleRates"] == [32] and value["captions"] == ["Nice"]
    rate, _, _, n, _ = read_wav(file_of(run, value["audio"][0]))
    assert (rate, n) == (32, 64)


def test_a_wav_path_is_stored_byte_for_byte(run):
    localrun.log({"clip": localrun.Audio(str(FIXTURES / "sample.wav"))})
    value = last(run, "clip")
    assert file_of(run, value).read_bytes() == (FIXTURES / "sample.wav").read_bytes()
    assert value["sample_rate"] == 8000 and value["duration"] == 0.25


def test_a_list_of_clips_is_one_audio_value(run):
    clips = [localrun.Audio(np.full(100 * (i + 1), 0.1 * i), sample_rate=1000) for i in range(3)]
    localrun.log({"clips": clips})
    value = last(run, "clips")
    assert value["count"] == 3 and value["sampleRates"] == [1000] * 3
    for i, ref in enumerate(value["audio"]):
        assert read_wav(file_of(run, ref))[3] == 100 * (i + 1)


@pytest.mark.parametrize(
    ("data", "kwargs", "error", "words"),
    [
        (np.zeros(10), {}, MediaError, "sample_rate is required"),
        (np.zeros(10), {"sample_rate": 0}, MediaError, "positive"),
        (np.zeros((2, 3, 4)), {"sample_rate": 10}, MediaError, "(samples, channels)"),
        (np.array(["a"]), {"sample_rate": 10}, MediaTypeError, "dtype"),
        (object(), {"sample_rate": 10}, MediaTypeError, "not object"),
        ("/no/such.wav", {}, MediaError, "does not exist"),
    ],
)
def test_bad_input(data, kwargs, error, words):
    with pytest.raises(error) as info:
        localrun.Audio(data, **kwargs)
    assert words in str(info.value)


def test_wandbs_list_helpers_and_duration_from_an_array(run):
    a = localrun.Audio(np.zeros(44100), sample_rate=44100, caption="dog")
    b = localrun.Audio(np.zeros(88200), sample_rate=44100)
    assert localrun.Audio.durations([a, b]) == [1.0, 2.0]
    assert localrun.Audio.sample_rates([a, localrun.Audio(np.zeros(8), sample_rate=8)]) == [
        44100,
        8,
    ]
    assert localrun.Audio.captions([a, b]) == ["dog", ""]
    assert localrun.Audio.captions([b, b]) is False
    localrun.log({"one": a, "two": [a, b]})
    assert last(run, "one")["duration"] == 1.0  # as wandb: an array's clip has its duration
    both = last(run, "two")
    assert (both["durations"], both["sampleRates"]) == ([1.0, 2.0], [44100, 44100])
    assert both["audio"][0]["size"] == 88244  # 16-bit mono WAV: 44 bytes of header
