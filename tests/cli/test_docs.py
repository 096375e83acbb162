"""Every command has help and is documented in docs/cli.md."""

import os

import pytest
from click.testing import CliRunner

from localrun.cli import main

from ..conftest import REPO

COMMANDS = sorted(main.commands)


@pytest.mark.parametrize("name", COMMANDS)
def test_command_has_help(name):
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.stdout
    assert main.commands[name].help


@pytest.mark.parametrize("name", COMMANDS)
def test_command_is_in_docs(name):
    with open(os.path.join(REPO, "docs", "cli.md"), encoding="utf-8") as f:
        assert f"## `localrun {name}" in f.read()
