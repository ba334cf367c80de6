"""Which code each side of bench_ab.py runs: the base's git worktree, and checks of both.

A side's processes get its `src` first on PYTHONPATH (`side_env`), ahead of the editable
install's .pth entry; `check_code` asks a side's interpreter what it imports before anything
is measured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def side_env(src: Path) -> dict[str, str]:
    """What every cityops process of a side gets on top of the benchmark's environment."""
    return {"PYTHONPATH": str(src)}


def git(*args: str, cwd: Path = REPO) -> str:
    """Run git in the repository; its output."""
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


@contextmanager
def base_worktree(ref: str, parent: Path) -> Iterator[Path]:
    """A detached git worktree of `ref` under `parent`, removed afterwards."""
    commit = git("rev-parse", "--verify", f"{ref}^{{commit}}")
    path = parent / f"base-{commit[:10]}"
    git("worktree", "add", "--detach", "--quiet", str(path), commit)
    try:
        yield path
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=REPO, check=False)


def dependencies(root: Path) -> list[str]:
    """The pinned runtime dependencies of a checkout's pyproject.toml."""
    with (root / "pyproject.toml").open("rb") as f:
        return sorted(tomllib.load(f)["project"].get("dependencies", []))


#: Run in a side's interpreter: where cityops comes from, and the module entry points it sees.
PROBE = """
import json, cityops
from importlib.metadata import entry_points
found = sorted(f"{e.name}={e.value}" for e in entry_points(group="cityops.modules"))
print(json.dumps({"file": cityops.__file__, "modules": found}))
"""


def probe(src: Path, cwd: Path) -> dict[str, Any]:
    """What an interpreter with `src` first on PYTHONPATH imports (as a side's server will)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYOPS_")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=cwd,
        env=env | side_env(src),
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def declared_modules(root: Path) -> list[str] | None:
    """The `cityops.modules` entry points a checkout's pyproject.toml declares (None: no group)."""
    with (root / "pyproject.toml").open("rb") as f:
        group = tomllib.load(f)["project"].get("entry-points", {}).get("cityops.modules")
    return None if group is None else sorted(f"{k}={v}" for k, v in group.items())


def check_code(name: str, src: Path, cwd: Path) -> None:
    """Stop unless the side runs its own `src` with the module entry points it declares.

    The entry points come from .venv's installed metadata, not from PYTHONPATH: a checkout
    that declares other ones than the metadata holds would not find its modules as its own
    install does. A side that declares none (code from before the module manifests) reads none.
    """
    found = probe(src, cwd)
    path = Path(found["file"]).resolve()
    expected = (src / "cityops" / "__init__.py").resolve()
    print(f"  {name}: cityops imported from {path}", flush=True)
    if path != expected:
        raise SystemExit(f"{name} would run {path}, not {expected}: the comparison is void")
    declared = declared_modules(src.parent)
    if declared is not None and declared != found["modules"]:
        raise SystemExit(
            f"{name} declares the cityops.modules entry points {declared}, but .venv's "
            f"metadata holds {found['modules']}: run `make install` for the current checkout; "
            "a base with other modules than the current checkout needs its own venv"
        )
