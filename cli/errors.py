"""Where errors become one-line messages and exit codes, for every command.

Exit codes: 0 success; 1 a run or path problem (missing, not a run, unreadable, damaged
beyond reading); 2 bad usage (click's own); 3 a sync that did not complete.
"""

from __future__ import annotations

import sys

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


def fail(message: str, code: int = EXIT_ERROR) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def report_damage(view) -> None:
    """One stderr line per damaged record that replay had to skip."""
    for d in view.damage:
        click.echo(
            f"localrun: skipped a damaged record in {d.segment} at byte {d.offset}: {d.reason}",
            err=True,
        )
