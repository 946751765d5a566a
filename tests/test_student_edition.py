"""scripts/student_edition.py: copies without worked answers, everything else the same, and they run."""
import json
import pathlib
import subprocess
import sys

import pytest

import nbrun

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SCRIPT = ROOT / "scripts" / "student_edition.py"
sys.path.insert(0, str(ROOT / "scripts"))
import student_edition  # noqa: E402


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    before = {p.name: p.read_bytes() for p in NOTEBOOKS}
    result = subprocess.run([sys.executable, str(SCRIPT), str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert {p.name: p.read_bytes() for p in NOTEBOOKS} == before, "the course's notebooks are untouched"
    return out / "notebooks"


def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def test_one_copy_per_chapter_and_no_answers(edition):
    assert sorted(p.name for p in edition.glob("*.ipynb")) == [p.name for p in NOTEBOOKS]
    for path in edition.glob("*.ipynb"):
        text = path.read_text(encoding="utf-8")
        assert "<details>" not in text and "</details>" not in text, path.name
        assert "worked answers are not included" in text, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_everything_but_the_answers_is_identical(edition, path):
    original = json.loads(path.read_text(encoding="utf-8"))
    student = json.loads((edition / path.name).read_text(encoding="utf-8"))
    assert student["metadata"] == original["metadata"]
    assert (student["nbformat"], student["nbformat_minor"]) == (original["nbformat"], original["nbformat_minor"])
    kept = iter(student["cells"])
    answers = 0
    for cell in original["cells"]:
        src = "".join(cell["source"])
        answers += src.count("<details><summary>Answer</summary>")
        is_only_answer = src.strip().startswith("<details>") and src.strip().endswith("</details>") \
            and src.count("<details>") == 1
        if is_only_answer:
            continue
        copy = next(kept)
        assert copy["id"] == cell["id"] and copy["cell_type"] == cell["cell_type"]
        assert copy["metadata"] == cell["metadata"]
        if cell["cell_type"] == "code":
            assert copy == cell, cell["id"]          # code, check lines, set-up cell: unchanged
        else:
            expected = student_edition.ANSWER.sub("\n\n", src)
            expected = "\n\n".join(part.strip("\n") for part in expected.split("\n\n") if part.strip())
            got = "".join(copy["source"]).replace(student_edition.STUDENT_POINTER, student_edition.POINTER)
            got = "\n\n".join(part.strip("\n") for part in got.split("\n\n") if part.strip())
            assert got == expected, cell["id"]
    assert next(kept, None) is None
    assert answers >= 2
    # the exercises and their checks are all still there
    n_orig = [n for n, _ in nbrun.exercise_blocks(_as_nb(original))]
    n_student = [n for n, _ in nbrun.exercise_blocks(_as_nb(student))]
    assert n_orig == n_student
    assert nbrun.check_calls(_as_nb(original)) == nbrun.check_calls(_as_nb(student))


def _as_nb(raw):
    import nbformat

    return nbformat.reads(json.dumps(raw), as_version=4)


def test_the_course_keeps_its_answers():
    for path in NOTEBOOKS:
        blocks = nbrun.exercise_blocks(_as_nb(json.loads(path.read_text(encoding="utf-8"))))
        assert all(nbrun.ANSWER_OPEN in block for _, block in blocks), path.name


def test_a_student_notebook_runs(edition):
    nb, results, _ = nbrun.run_notebook(edition / "00_start_here.ipynb")
    nbrun.check_clean_outputs(nb)
    nbrun.check_explorers(results, minimum=1)
    assert "<details>" not in "".join(c.source for c in nb.cells if c.cell_type == "markdown")


def test_refuses_to_overwrite_the_course(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), str(ROOT)], capture_output=True, text=True)
    assert result.returncode != 0 and "overwrite the course's own notebooks" in result.stderr
    lone = tmp_path / "lone.ipynb"
    lone.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    with pytest.raises(ValueError, match="no worked answers"):
        student_edition.write_edition(tmp_path / "out", [lone])
