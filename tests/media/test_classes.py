"""Classes: id -> name lists, given to Image(classes=) or logged on their own."""

from __future__ import annotations

import numpy as np
import pytest

import localrun

from .readback import last


def test_classes_in_an_image_and_alone(run):
    classes = localrun.Classes([{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}])
    assert classes == localrun.Classes([{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}])
    localrun.log(
        {"img": localrun.Image(np.zeros((2, 2), np.uint8), classes=classes), "cls": classes}
    )
    assert last(run, "img")["classes"] == [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]
    assert last(run, "cls") == {"_type": "classes", "class_set": classes.class_set}


def test_each_class_needs_an_id_and_a_name():
    with pytest.raises(AssertionError, match="'id' and 'name'"):
        localrun.Classes([{"id": 1}])
