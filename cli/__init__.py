"""localrun.cli: the ``localrun`` command. One module per command; errors become exit codes in errors.py.

Installed as ``localrun.cli`` (from the top-level ``cli/`` folder).
"""

from __future__ import annotations

import gc

import click

from localrun import __version__

from .errors import Group
from .export import export
from .serve import serve
from .show import show
from .sync import sync
from .ui import ui
from .verify import verify


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="localrun")
def main() -> None:
    """Record ML runs offline, look at them, sync them later."""
    # What is loaded by now lives as long as the command: the cyclic collector need not walk
    # it again each time reading a million records sets it off (4 % of `show`'s time).
    gc.freeze()


main.add_command(show)
main.add_command(export)
main.add_command(verify)
main.add_command(sync)
main.add_command(serve)
main.add_command(ui)

__all__ = ["main"]
