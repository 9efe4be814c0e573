"""Proves a refactoring left the OpenAPI document as it was, byte for byte.

    .venv/bin/python -m tests.openapi_document                 # print this tree's document
    .venv/bin/python -m tests.openapi_document --same-as REV   # compare it with git revision REV

The document is built without a database: `create_app` only keeps the container for the
requests, and building the document serves none.
"""

from __future__ import annotations

import difflib
import hashlib
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Run as it is in this tree and in an exported older tree (which does not have this file), so
# both documents are written by the very same code.
PRINT_DOCUMENT = """
import json, sys
from types import SimpleNamespace
from api.app import create_app
document = create_app(SimpleNamespace(metrics=None)).openapi()
sys.stdout.write(json.dumps(document, indent=1, ensure_ascii=False) + "\\n")
"""


def document(tree: Path) -> str:
    """The OpenAPI document of the code in `tree`, as JSON in the order the service sends it."""
    done = subprocess.run(
        [sys.executable, "-c", PRINT_DOCUMENT],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def exported(revision: str, into: Path) -> Path:
    """The tree of `revision`, exported from git into `into`."""
    archive = subprocess.run(
        ["git", "archive", revision], cwd=REPO, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main(argv: Sequence[str]) -> int:
    if not argv:
        sys.stdout.write(document(REPO))
        return 0
    if len(argv) != 2 or argv[0] != "--same-as":
        print(__doc__, file=sys.stderr)
        return 2
    now = document(REPO)
    with tempfile.TemporaryDirectory(prefix="openapi-") as tmp:
        then = document(exported(argv[1], Path(tmp)))
    digest = hashlib.sha256(now.encode()).hexdigest()
    if now == then:
        print(f"identical: {len(now)} bytes, sha256 {digest}")
        return 0
    sys.stdout.writelines(difflib.unified_diff(then.splitlines(True), now.splitlines(True)))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
