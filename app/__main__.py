"""`mpipanel`: the control panel's command line."""
from __future__ import annotations

import sys


def main() -> int:
    print("mpipanel: the GUI is not built yet; use `python -m core script.py` for scripts.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
