"""``localrun run [--dir D] -- COMMAND ...``: run training code that says ``import wandb``.

The command runs with localrun's stand-in for wandb (``localrun/wandb_shim``) first on
``PYTHONPATH``, and ``$LOCALRUN_DIR`` set to the runs root as an absolute path, so every Python
process in its tree (torchrun and accelerate workers, DataLoader workers, plain subprocesses)
that imports ``wandb`` records a local run there, whatever folder it runs in. Nothing is
installed or changed: without ``localrun run``, ``import wandb`` is what it was.

localrun replaces itself with the command (``exec``): the command has this process's pid, so a
signal sent to it (Ctrl-C, a scheduler's SIGTERM) reaches the command itself, exactly once,
and the command's exit status is the exit status. A command that cannot be found exits 127,
one that cannot be run 126, as in a shell.
"""

from __future__ import annotations

import os
import shutil
import sys

import click

from localrun import rundir, wandb_shim

from .errors import fail

EXIT_NOT_FOUND = 127
EXIT_CANNOT_RUN = 126


def command_environment(root: str, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a command runs in under ``localrun run``: ``environ`` (default: this
    process's) with the stand-in first on PYTHONPATH and LOCALRUN_DIR the absolute ``root``."""
    env = dict(os.environ if environ is None else environ)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != wandb_shim.PATH]
    env["PYTHONPATH"] = os.pathsep.join([wandb_shim.PATH, *paths])
    env["LOCALRUN_DIR"] = os.path.abspath(root)
    return env


@click.command(
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option(
    "--dir",
    "root",
    default=None,
    metavar="DIR",
    help="The runs root for the command's runs [default: $LOCALRUN_DIR, else ./runs].",
)
@click.argument("command", nargs=-1, type=click.UNPROCESSED, metavar="-- COMMAND [ARGS]...")
def run(root: str | None, command: tuple[str, ...]) -> None:
    """Run COMMAND with `import wandb` recording local runs (default DIR: ./runs).

    Training code that calls wandb itself or through a library (Hugging Face Trainer with
    report_to="wandb", Lightning's WandbLogger, accelerate's log_with="wandb") records into
    DIR, in the command and in every process it starts, with nothing installed. Then
    `localrun show` from the same folder lists the runs. docs/wandb.md lists the wandb names
    that work. The exit status is COMMAND's.

        localrun run -- python train.py --lr 0.1

        localrun run --dir /scratch/runs -- torchrun --nproc-per-node 2 train.py
    """
    if not command:
        raise click.UsageError(
            "no command given. Put it after --, e.g. localrun run -- python train.py"
        )
    env = command_environment(rundir.runs_root(root))
    program = command[0]
    found = shutil.which(program, path=env.get("PATH", os.defpath))
    if found is None:
        where = "" if os.sep in program else " on PATH"
        fail(
            f"command not found: {program!r}{where}. Check its spelling, or give its path "
            "(e.g. ./train.sh)",
            EXIT_NOT_FOUND,
        )
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(found, list(command), env)
    except OSError as exc:
        fail(f"cannot run {program!r}: {exc.strerror or exc}", EXIT_CANNOT_RUN)
