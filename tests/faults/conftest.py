"""Fault tests marked ``@pytest.mark.slow`` run only with ``--slow``; the default suite keeps a
short version of each attack."""

import pytest


def pytest_collection_modifyitems(config, items):
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="long fault test: run with --slow")
    for item in items:
        if "slow" in item.keywords and "faults" in str(item.path):
            item.add_marker(skip)
