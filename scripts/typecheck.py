"""Type-check every package with mypy, each file under the module name it installs as.

sync/, server/, viewer/ and cli/ install as localrun.sync, localrun.server... (setuptools
``package-dir`` in pyproject.toml). Plain ``mypy`` names a file by its folder (``sync/push.py``
would be ``sync.push``), so ``from localrun.sync import ...`` would find nothing and the
relative imports inside sync/ would point at a package called ``sync``. This script reads
``packages`` and ``package-dir`` from pyproject.toml, gives mypy each file with the module name
setuptools installs it as, and runs mypy with the ``[tool.mypy]`` settings of pyproject.toml.
Errors are reported at the files' real paths (``sync/push.py:12: error: ...``).

Usage: ``.venv/bin/python scripts/typecheck.py [mypy options]``; exit status 0 when there are no
errors, 1 when there are, 2 when mypy could not run. The cache is kept in
``$XDG_CACHE_HOME/localrun/mypy-<checkout>`` (``~/.cache`` by default), one per checkout, unless
``--cache-dir`` is given.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: mypy itself depends on tomli there
    import tomli as tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sources(root: str = ROOT) -> list[tuple[str, str]]:
    """(path relative to root, module name) for every .py file of every package pyproject lists."""
    with open(os.path.join(root, "pyproject.toml"), "rb") as f:
        setup = tomllib.load(f)["tool"]["setuptools"]
    folders = setup.get("package-dir", {})
    out = []
    for package in setup["packages"]:
        # setuptools' rule: the folder of the longest listed prefix, then the rest as subfolders.
        parts = package.split(".")
        for n in range(len(parts), -1, -1):
            prefix = ".".join(parts[:n])
            if prefix in folders or n == 0:
                base = folders.get(prefix, "")
                folder = os.path.join(base, *parts[n:])
                break
        for name in sorted(os.listdir(os.path.join(root, folder))):
            if not name.endswith(".py"):
                continue
            module = package if name == "__init__.py" else f"{package}.{name[:-3]}"
            out.append((os.path.join(folder, name), module))
    return out


def _cache_dir() -> str:
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    checkout = hashlib.sha1(ROOT.encode()).hexdigest()[:12]
    return os.path.join(home, "localrun", f"mypy-{checkout}")


def main(argv: list[str]) -> int:
    from mypy.fscache import FileSystemCache
    from mypy.main import process_options, run_build
    from mypy.modulefinder import BuildSource

    os.chdir(ROOT)  # pyproject.toml's [tool.mypy], and paths in messages relative to the checkout
    files = sources()
    if not any(a == "--cache-dir" or a.startswith("--cache-dir=") for a in argv):
        argv = ["--cache-dir", _cache_dir(), *argv]
    t0 = time.time()
    fscache = FileSystemCache()
    # mypy's own option parsing (and its reading of pyproject.toml); the file list it works out
    # from the paths is replaced by ours, with the installed module names.
    _, options = process_options([*argv, *(path for path, _ in files)], fscache=fscache)
    build = [BuildSource(path, module) for path, module in files]
    _, messages, blockers = run_build(build, options, fscache, t0, sys.stdout, sys.stderr)
    errors = [m for m in messages if ": error:" in m]
    took = time.time() - t0
    if blockers:
        return 2
    if errors:
        files = len({m.split(":", 1)[0] for m in errors})
        print(
            f"Found {len(errors)} errors in {files} files "
            f"(checked {len(build)} source files, {took:.1f} s)"
        )
        return 1
    print(f"Success: no issues found in {len(build)} source files ({took:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
