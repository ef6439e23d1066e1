"""The ``reachable`` console script: Django's management commands under the project's name.

``reachable replay``, ``reachable sweep``, ``reachable audit verify``, ``reachable demo`` and
``reachable bench`` are management commands; this wrapper only picks the settings module.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reachable.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else argv)
    args[0] = "reachable"
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
