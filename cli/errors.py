"""Where errors become one-line messages and exit codes, for every command.

Exit codes: 0 success; 1 a run or path problem (missing, not a run, unreadable, damaged
beyond reading); 2 bad usage (click's own); 3 a sync that did not complete.

An exception nobody expected (a bug) is one line too, exit 1, saying it is a bug; with
``LOCALRUN_DEBUG=1`` in the environment it is raised, traceback and all.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import click

from localrun.errors import Error, SyncError

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_SYNC = 3


class Group(click.Group):
    """A click group that turns localrun errors into one line on stderr, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # click's own: usage errors (exit 2), --help, Ctrl-C
        except SyncError as exc:
            fail(str(exc), EXIT_SYNC)
        except Error as exc:
            fail(str(exc), EXIT_ERROR)
        except BrokenPipeError:
            # `localrun export RUN | head`: the reader went away; that is not an error.
            sys.stderr.close()
            sys.exit(0)
        except OSError as exc:
            where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
            fail(f"{exc.strerror or exc}{where}", EXIT_ERROR)
        except Exception as exc:
            if os.environ.get("LOCALRUN_DEBUG"):
                raise
            fail(
                f"{type(exc).__name__}: {str(exc)[:300]} (unexpected: this is a bug in localrun; "
                "run it again with LOCALRUN_DEBUG=1 to see where, and please report it)",
                EXIT_ERROR,
            )


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def report_damage(view) -> None:
    """One stderr line per damaged record that replay had to skip."""
    for d in view.damage:
        click.echo(
            f"localrun: skipped a damaged record in {d.segment} at byte {d.offset}: {d.reason}",
            err=True,
        )
