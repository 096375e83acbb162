"""wandb's step and commit rules, in one place.

The writer runs these rules at ``log()`` time to warn about (or, with strict steps, refuse) a
step that goes backwards; replay (``localrun/replay.py``) runs the very same rules over the
records to build history rows. One implementation, so what ``log()`` warned about is exactly
what replay drops (tests/test_steps.py checks it on random calls, resumes and kills).
``next()`` is the rule's most common case on its own, for the hot paths of both.

The state is the current step and whether a row is pending at it. For one call:

- no step: merge into the pending row; unless ``commit=False``, write it at the current step
  and move to the next step;
- ``step`` above the current one: write out any pending row at the current step, jump to
  ``step`` and merge; an explicit step defaults to ``commit=False``, ``commit=True`` writes now;
- ``step`` equal to the current one: merge; ``commit=True`` writes;
- ``step`` below the current one: dropped.
"""

from __future__ import annotations

DROPPED = None  # what advance() returns for a call whose step went backwards

BACKWARDS_WARNING = (
    "Tried to log to step {step} that is less than the current step {current}. "
    "Steps must be monotonically increasing, so this data will be ignored."
)


class StepCounter:
    """The current step and whether a row is pending there."""

    __slots__ = ("step", "pending")

    def __init__(self, step: int = 0, pending: bool = False):
        self.step = step
        self.pending = pending

    def advance(
        self, step: int | None, commit: bool | None
    ) -> tuple[int | None, int | None] | None:
        """Apply one ``log(step=, commit=)`` call.

        Returns ``DROPPED`` (None) for a step that went backwards, else ``(flush_at,
        write_at)``: write the pending row at ``flush_at`` before merging (if not None), merge
        the call's data, then write the row at ``write_at`` (if not None).
        """
        if step is None:
            if commit is None or commit:
                return None, self.next()
            self.pending = True
            return None, None
        cur = self.step
        if step < cur:
            return DROPPED
        flush_at = cur if step > cur and self.pending else None
        if commit:
            self.step = step + 1
            self.pending = False
            return flush_at, step
        self.step = step
        self.pending = True
        return flush_at, None

    def next(self) -> int:
        """``advance(None, None)``, the common ``log(data)`` call: the row is written at the
        current step (returned), and the counter moves on to the next one."""
        at = self.step
        self.step = at + 1
        self.pending = False
        return at

    def catch_up(self, writer_step: int) -> int | None:
        """A reader's rule, for a record whose writer stood at ``writer_step``, past this
        counter (callers check that): records before it were lost to damage. The pending row is
        written (at the step returned, if any) and the counter jumps to where the writer
        stood, so the rows after the loss keep their steps."""
        at = self.close()
        self.step = writer_step
        return at

    def close(self) -> int | None:
        """End of a writer (``finish()``, or a crash): the step of the pending row, if any."""
        if not self.pending:
            return None
        cur = self.step
        self.step = cur + 1
        self.pending = False
        return cur
