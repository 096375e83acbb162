"""Histogram: binned with np.histogram, or given as an np.histogram tuple; inline in the record."""

from __future__ import annotations

import numpy as np
import pytest

import localrun
from localrun.errors import MediaError, MediaTypeError

from .readback import last, show_json


def test_a_sequence_is_binned_into_64_bins(run):
    data = np.random.default_rng(0).normal(size=(100, 100))
    localrun.log({"gradients": localrun.Histogram(data)})
    value = last(run, "gradients")
    counts, edges = np.histogram(data.ravel(), bins=64)
    assert value == {"_type": "histogram", "bins": edges.tolist(), "values": counts.tolist()}


def test_num_bins(run):
    localrun.log({"h": localrun.Histogram([1, 2, 3, 4], num_bins=2)})
    assert last(run, "h")["values"] == [2, 2]


@pytest.mark.parametrize("how", ["positional", "keyword"])
def test_an_np_histogram_tuple_is_taken_as_is(run, how):
    data = np.random.default_rng(1).random(1000)
    hist = np.histogram(data, density=True, range=(0.0, 1.0))
    h = localrun.Histogram(hist) if how == "positional" else localrun.Histogram(np_histogram=hist)
    localrun.log({"h": h})
    value = last(run, "h")
    assert value["bins"] == hist[1].tolist()
    assert value["values"] == hist[0].tolist()


def test_nan_and_inf_are_left_out(run):
    localrun.log({"h": localrun.Histogram([1.0, np.nan, 2.0, np.inf, 3.0], num_bins=3)})
    assert last(run, "h")["values"] == [1, 1, 1]


def test_histogram_in_the_summary(run):
    run.summary.update({"final_logits": localrun.Histogram(np.arange(10), num_bins=5)})
    run.finish(quiet=True)
    value = show_json(run)["summary"]["final_logits"]
    assert value["_type"] == "histogram" and value["values"] == [2, 2, 2, 2, 2]


def test_more_than_512_bins_is_a_value_error():
    with pytest.raises(ValueError, match="512"):
        localrun.Histogram([1, 2, 3], num_bins=513)
    with pytest.raises(ValueError, match="512"):
        localrun.Histogram(np_histogram=np.histogram(np.arange(1000), bins=600))


def test_512_bins_is_fine():
    assert len(localrun.Histogram(np.arange(1000), num_bins=512).histogram) == 512


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({}, MediaError, "needs sequence"),
        ({"sequence": ["a", "b"]}, MediaTypeError, "numbers"),
        ({"sequence": [1], "num_bins": 0}, MediaError, "positive"),
        ({"np_histogram": ([1, 2], [0, 1])}, MediaError, "one more edge"),
    ],
)
def test_bad_input(kwargs, error, words):
    with pytest.raises(error, match=words):
        localrun.Histogram(**kwargs)
