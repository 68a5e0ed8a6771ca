"""The trees `python -m benchmarks --compare REF` measures, set up for one run and removed after it.

REF is checked out (detached) in a temporary `git worktree`, and this tree's `benchmarks` package
is copied beside it into a directory of its own, so that both sides can run the very same
benchmark code, each with its own `core` on the path, even if the files change during the run.
Everything goes again on every way out of the run: its end, a failure, Ctrl-C (SIGTERM is turned
into an exit by the caller).
"""
from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks.measurement import REPO

OWN_BENCHMARKS = {"benchmarks/__main__.py": "benchmarks", "core/bench.py": "core.bench"}
"""Where a tree's own benchmarks live, newest layout first: before 6375d78 they were `core.bench`."""


@dataclass(frozen=True)
class Trees:
    work: Path  # the working tree: this `benchmarks`' repository, uncommitted changes included
    ref: Path  # REF checked out
    commit: str  # REF's full hash
    subject: str  # REF's commit subject, to say what was measured
    driver: Path  # holds a copy of this tree's `benchmarks` and nothing else


def commit_of(ref: str, repo: Path = REPO) -> str | None:
    """REF's full commit hash in `repo`, or None if it names no commit there."""
    return _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False) or None


def own_benchmarks(tree: Path) -> str:
    """The module that runs `tree`'s own benchmarks (`python -m MODULE`)."""
    return next((module for path, module in OWN_BENCHMARKS.items() if (tree / path).exists()), "benchmarks")


@contextlib.contextmanager
def checked_out(commit: str, repo: Path = REPO) -> Iterator[Trees]:
    """`commit` in a temporary worktree of `repo`, and a copy of `repo`'s benchmarks; both removed
    when the block ends, however it ends."""
    directory = Path(tempfile.mkdtemp(prefix="mpipanel-compare-"))
    ref = directory / "ref"
    try:
        shutil.copytree(repo / "benchmarks", directory / "driver" / "benchmarks",
                        ignore=shutil.ignore_patterns("__pycache__"))
        _git(repo, "worktree", "add", "--detach", str(ref), commit)
        yield Trees(repo, ref, commit, _git(repo, "log", "-1", "--format=%s", commit), directory / "driver")
    finally:
        removed = not ref.exists() or _git(repo, "worktree", "remove", "--force", str(ref), check=False) is not None
        shutil.rmtree(directory, ignore_errors=True)
        if not removed:  # git's entry for it is stale now that its folder is gone: prune clears stale entries only
            _git(repo, "worktree", "prune", check=False)


def _git(repo: Path, *args: str, check: bool = True) -> str | None:
    """git's output; if it fails, an error (`check`) or None."""
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    if done.returncode == 0:
        return done.stdout.strip()
    if check:
        raise RuntimeError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return None
