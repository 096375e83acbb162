"""Fixtures for the media tests: a live run in tmp_path (helpers to read it back: readback.py)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")  # matplotlib without a display

import localrun  # noqa: E402


@pytest.fixture
def run(tmp_path):
    r = localrun.init(dir=str(tmp_path / "runs"), project="media-tests", settings={"quiet": True})
    yield r
    r.finish(quiet=True)
