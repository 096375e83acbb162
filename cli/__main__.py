"""``python -m localrun.cli``: the same as the ``localrun`` command."""

from . import main

main(prog_name="localrun")
