"""What of a row or a run document a server would refuse, found and left out.

The recorder refuses, at the call, every value outside ``localrun.contract``; runs written
before it did may still hold some (bytes, keys that are not strings, values nested too deep, a
logged ``_step``). A server refuses a whole batch for one of them, so sync leaves out just the
offending values (the rest of the row is sent) and says which, one message each.

Rows are walked only when a server has refused their batch: rows of plain values, nearly all
of them, cost nothing here. A run document is one object, and is checked before it is sent.
"""

from __future__ import annotations

from localrun.contract import value_problem

MAX_STEP = 2**63 - 1
_PLAIN = frozenset((str, float, bool, type(None)))
_STAMPED = ("_runtime", "_timestamp")  # set by replay itself, always numbers


def scrub_rows(rows: list[dict], after: int) -> tuple[list[dict], list[str]]:
    """``rows`` without what breaks the contract, and a message for each thing left out.

    A value that breaks it is left out of its row. A row whose ``_step`` is not an integer
    above the one before it (``after`` for the first: the last step the server holds) is left
    out whole: a logged value named ``_step`` replaced its step, and its real one is not known.
    """
    out: list[dict] = []
    problems: list[str] = []
    prev = after
    for row in rows:
        step = row.get("_step")
        if type(step) is not int or not prev < step <= MAX_STEP:
            problems.append(
                f"the row after step {prev} not sent: its _step is {_short(step)}, not a step after "
                f"{prev} (a value logged under the name '_step' replaced the row's step)"
            )
            continue
        clean = scrub_dict(row, f"step {step}: ", problems, skip=_STAMPED)
        out.append(clean)
        prev = step
    return out, problems


def scrub_doc(doc: dict) -> tuple[dict, list[str]]:
    """The run document without what breaks the contract, and a message for each thing left out.

    Inside ``config``, ``summary`` and the other maps, only the offending entries are left out;
    any other offending value (``notes`` as bytes, say) becomes null.
    """
    problems: list[str] = []
    clean = {}
    for key, value in doc.items():
        if type(value) is dict:
            clean[key] = scrub_dict(value, f"{key}/", problems)
            continue
        problem = value_problem(value, str(key))
        if problem is not None:
            problems.append(f"{key} not sent: {_without_where(problem, str(key))}")
            value = None
        clean[key] = value
    return clean, problems


def scrub_dict(d: dict, prefix: str, problems: list[str], skip: tuple = ()) -> dict:
    """``d`` without its entries that break the contract (``d`` itself when it has none)."""
    drop = []
    for k, v in d.items():
        if type(k) is not str:
            drop.append(k)
            problems.append(
                f"{prefix}{_short(k)} not sent: the key {_short(k)} ({type(k).__name__}) is not a string"
            )
            continue
        if type(v) in _PLAIN or k in skip:
            continue
        where = repr(k)
        problem = value_problem(v, where)
        if problem is not None:
            drop.append(k)
            problems.append(f"{prefix}{where} not sent: {_without_where(problem, where)}")
    if not drop:
        return d
    dropped = set(drop)
    return {k: v for k, v in d.items() if k not in dropped}


def _without_where(problem: str, where: str) -> str:
    """value_problem's text without its leading ``<where>: `` (the caller says where)."""
    head = f"{where}: "
    return problem[len(head) :] if problem.startswith(head) else problem


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
