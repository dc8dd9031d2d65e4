"""Write each family's default randomization space into its env docstring.

    python tools/param_docs.py          # rewrite the "## Domain Randomization" sections
    python tools/param_docs.py --check  # exit 1 if a docstring is out of date

The table comes from ``Task.param_space()`` (the code, where each line's comment gives the
reason for its range), so the docs cannot drift from what ``randomize=True`` samples:
``tests/test_randomization.py`` fails when they differ.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from simsuite.registration import TASKS

HEADING = "## Domain Randomization"
NEXT_HEADING = "## Version History"


def section(env_id: str) -> str:
    """The docstring section for ``env_id``: an intro line and the space's table."""
    module, cls_name = TASKS[env_id][0].split(":")
    space = getattr(importlib.import_module(module), cls_name)().param_space()
    return (f"{HEADING}\n``randomize=True`` samples this space at every reset (``{cls_name}.param_space()``,\n"
            f"where a comment on each line says why its range is what it is); ``info[\"params\"]`` holds the\n"
            f"values drawn. Pass a file or a ``ParamSpace`` to ``randomize=`` to change it.\n\n{space.markdown()}\n\n")


def rewrite(text: str, new_section: str) -> str:
    """``text`` with its Domain Randomization section (inserted before Version History) replaced."""
    start = text.find(HEADING)
    end = text.find(NEXT_HEADING)
    if end < 0:
        raise ValueError(f"no {NEXT_HEADING!r} heading to put the section before")
    return text[: start if start >= 0 else end] + new_section + text[end:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report out-of-date docstrings")
    args = parser.parse_args()
    stale = []
    for env_id, (task, _, _) in TASKS.items():
        path = Path(importlib.import_module(task.split(":")[0]).__file__)
        text = path.read_text()
        new = rewrite(text, section(env_id))
        if new != text:
            stale.append(str(path))
            if not args.check:
                path.write_text(new)
    verb = "out of date" if args.check else "rewritten"
    print(f"{verb}: {', '.join(stale)}" if stale else "all docstrings up to date")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
