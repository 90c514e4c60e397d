"""The `friday` command: Django's management commands plus Friday's own (run, serve, worker, demo, bench …)."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "friday.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv[1:] if argv is None else argv)
    execute_from_command_line(["friday", *(args or ["help"])])


if __name__ == "__main__":
    main()
