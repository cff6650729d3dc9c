"""The ``watcher`` command: thin click commands over the library.

Each area registers its commands from its own module, so the command tree is
read from the imports below. A command parses options, calls one library
function and formats the result; it never holds logic of its own.
"""

from __future__ import annotations

from . import backfill as _backfill  # noqa: F401  (joins the rules group)
from . import core as _core  # noqa: F401
from . import main as _main  # noqa: F401  (defines the group and global options)
from . import notify as _notify  # noqa: F401
from . import report as _report  # noqa: F401
from . import rules as _rules  # noqa: F401
from . import search as _search  # noqa: F401
from . import service as _service  # noqa: F401
from .main import cli, main

__all__ = ["cli", "main"]
