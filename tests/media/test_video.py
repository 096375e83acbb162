"""Video: arrays encoded with PyAV and decoded with PyAV (frame counts, sizes); files as they are."""

from __future__ import annotations

import io

import numpy as np
import pytest

import localrun
from localrun.errors import MediaError, MediaTypeError

from .readback import FIXTURES, file_of, last

av = pytest.importorskip("av")


def decode(path):
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return frames


@pytest.mark.parametrize("fmt", ["gif", "mp4", "webm", "ogg"])
def test_an_array_is_encoded_with_every_frame(run, fmt):
    frames = np.random.default_rng(0).integers(0, 256, (10, 3, 24, 32), dtype=np.uint8)
    frames[4] = frames[3]  # a repeated frame is still a frame
    localrun.log({"video": localrun.Video(frames, fps=4, format=fmt, caption="c")})
    value = last(run, "video")
    assert value["_type"] == "video-file" and value["format"] == fmt and value["caption"] == "c"
    assert (value["width"], value["height"], value["frames"]) == (32, 24, 10)
    path = file_of(run, value)
    assert path.suffix == f".{fmt}"
    decoded = decode(path)
    assert len(decoded) == 10
    assert decoded[0].shape == (24, 32, 3)


def test_gif_is_the_default_and_keeps_a_flat_colour(run):
    frames = np.zeros((3, 3, 8, 8), dtype=np.uint8)
    frames[:, 0] = 255  # pure red: exact in a gif palette
    localrun.log({"video": localrun.Video(frames)})
    decoded = decode(file_of(run, last(run, "video")))
    assert len(decoded) == 3
    np.testing.assert_array_equal(decoded[1][0, 0], [255, 0, 0])


def test_a_batch_is_tiled_into_a_grid(run):
    frames = np.zeros((3, 5, 1, 10, 12), dtype=np.uint8)
    localrun.log({"video": localrun.Video(frames, format="mp4")})
    value = last(run, "video")
    assert (value["width"], value["height"], value["frames"]) == (24, 20, 5)
    decoded = decode(file_of(run, value))
    assert len(decoded) == 5 and decoded[0].shape == (20, 24, 3)


def test_odd_sizes_are_padded_for_mp4(run):
    localrun.log({"video": localrun.Video(np.zeros((2, 3, 7, 9), np.uint8), format="mp4")})
    assert len(decode(file_of(run, last(run, "video")))) == 2


@pytest.mark.parametrize("name", ["sample.mp4", "sample.gif"])
def test_a_path_is_stored_byte_for_byte(run, name):
    localrun.log({"video": localrun.Video(str(FIXTURES / name))})
    value = last(run, "video")
    assert file_of(run, value).read_bytes() == (FIXTURES / name).read_bytes()
    assert len(decode(file_of(run, value))) == 6


def test_a_bytes_io_is_sniffed_or_takes_format(run):
    data = (FIXTURES / "sample.mp4").read_bytes()
    localrun.log(
        {"a": localrun.Video(io.BytesIO(data)), "b": localrun.Video(io.BytesIO(data), format="mp4")}
    )
    assert last(run, "a")["path"].endswith(".mp4")


@pytest.mark.parametrize(
    ("data", "kwargs", "error", "words"),
    [
        (np.zeros((3, 8, 8)), {}, MediaError, "(time, channels, height, width)"),
        (np.zeros((3, 2, 8, 8)), {}, MediaError, "1, 3 or 4 channels"),
        (np.zeros((1, 3, 8, 8)), {"format": "avi"}, MediaError, "format='avi'"),
        (np.zeros((1, 3, 8, 8)), {"fps": 0}, MediaError, "fps"),
        ("/no/such.mp4", {}, MediaError, "does not exist"),
        ({"x": 1}, {}, MediaTypeError, "not dict"),
        (str(FIXTURES / "sample.wav"), {}, MediaError, "gif, mp4, webm, ogg"),
    ],
)
def test_bad_input(data, kwargs, error, words):
    with pytest.raises(error) as info:
        localrun.Video(data, **kwargs)
    assert words in str(info.value)


def test_a_file_whose_content_is_not_its_extension(tmp_path):
    fake = tmp_path / "clip.mp4"
    fake.write_bytes((FIXTURES / "sample.gif").read_bytes())
    with pytest.raises(MediaError, match="holds gif"):
        localrun.Video(str(fake))
