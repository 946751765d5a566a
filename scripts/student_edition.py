#!/usr/bin/env python3
"""Write the student edition of the course: every notebook without its worked answers.

    python scripts/student_edition.py OUTDIR

writes ``OUTDIR/notebooks/NN_topic.ipynb`` for every chapter. Each copy is the course's notebook
with every worked answer (a ``<details><summary>Answer</summary> ... </details>`` block) removed;
a markdown cell that held nothing but an answer is dropped. The exercises, their commented
``# d2l.check(...)`` lines, the hints (``d2l.exercises.hint``) and everything else stay exactly as
they are, and the one sentence that points at the worked answers says that this edition has none.
The course's own notebooks are never changed.

Publish ``OUTDIR`` as its own repository (or branch) and point the class's nbgitpuller links at
it (``hub_repository``/``hub_branch`` in ``[tool.d2lmini.course]``, see ``make_badges.py``).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import re
import sys
from typing import List, Tuple

ROOT = pathlib.Path(__file__).resolve().parents[1]
ANSWER = re.compile(r"\n*<details><summary>Answer</summary>.*?</details>[ \t]*\n?", re.S)
POINTER = "Every exercise has a worked answer under **Answer**: try first, then compare."
STUDENT_POINTER = "This is the student edition: the worked answers are not included."


def strip_answers(nb: dict) -> Tuple[dict, int]:
    """A copy of the notebook (as JSON) without worked answers, and how many were removed."""
    out = json.loads(json.dumps(nb))
    cells, removed = [], 0
    for cell in out["cells"]:
        if cell["cell_type"] == "markdown":
            src = "".join(cell["source"])
            new, n = ANSWER.subn("\n\n", src)
            if n:
                removed += n
                new = re.sub(r"\n{3,}", "\n\n", new).strip("\n")
                if not new.strip():
                    continue
                src = new
            src = src.replace(POINTER, STUDENT_POINTER)
            cell["source"] = src.splitlines(keepends=True)
            if cell["source"] and cell["source"][-1].endswith("\n"):
                cell["source"][-1] = cell["source"][-1][:-1]
        cells.append(cell)
    out["cells"] = cells
    return out, removed


def write_edition(outdir: pathlib.Path, notebooks: List[pathlib.Path]) -> List[pathlib.Path]:
    target = (outdir / "notebooks").resolve()
    if target == (ROOT / "notebooks").resolve():
        raise ValueError(f"OUTDIR {outdir} would overwrite the course's own notebooks; choose another folder")
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        student, removed = strip_answers(nb)
        if removed == 0:
            raise ValueError(f"{path.name} has no worked answers to remove; is it a course notebook?")
        dest = target / path.name
        tmp = dest.with_suffix(".ipynb.tmp")
        tmp.write_text(json.dumps(student, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(dest)          # atomic: never a half-written notebook
        written.append(dest)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=pathlib.Path, help="folder for the student edition (gets notebooks/)")
    args = parser.parse_args(argv)
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    try:
        written = write_edition(args.outdir, notebooks)
    except ValueError as exc:
        parser.error(str(exc))
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
