"""``python -m watcher`` is the same as the ``watcher`` command."""

from .cli import main

main()
