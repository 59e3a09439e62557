"""``python -m bevel``: the ``bevel`` command where its script is not on PATH.

A notebook's kernel, a virtual environment that was not activated, or ``pipx run`` may have
bevel installed without ``bevel`` on PATH; ``python -m bevel run file.py`` always works with the
interpreter at hand. Only imported when run as a module, so ``import bevel`` is unaffected.
"""

from __future__ import annotations

from bevel.cli.main import main

if __name__ == "__main__":
    main(prog_name="python -m bevel")
