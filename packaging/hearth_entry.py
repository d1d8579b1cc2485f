"""The frozen app's entry point: the same as ``hearth`` / ``python -m app``.

``hearth --engine-worker`` (what the app starts for its engine process) runs the worker from the
same executable.
"""

import sys

from app.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
