"""Entry point: ``hearth`` / ``python -m app``. A command runs the CLI; no command opens the app."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--engine-worker"]:
        from app.engine.worker import main as worker_main

        return worker_main()
    from app.cli import COMMANDS

    wants_cli = any(a in COMMANDS for a in argv) or any(
        a in ("-h", "--help", "--version") for a in argv
    )
    if wants_cli:
        from app.cli import main as cli_main

        return cli_main(argv)
    return gui_main(argv)


def gui_main(argv: list[str] | None = None) -> int:
    from app.ui.app import run_app

    return run_app(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
