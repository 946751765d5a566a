"""notebooks/00_start_here.ipynb runs clean in a real kernel and its parts work."""
import pytest

import nbrun

NAME = "00_start_here.ipynb"

PROBE = r"""
import json, io, contextlib
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    right = check_start_here(first_diverging_lr=0.75, with_zero_momentum="smaller")
    wrong = check_start_here(first_diverging_lr=0.5, with_zero_momentum="larger")
# the exercise's claim, measured on the explorer itself: converges below the edge, not above
explorer.set(lr=0.74, momentum=0.5, steps=200)
below = explorer.trajectory[-1].tolist()
explorer.set(lr=0.76)
above_readout = explorer.readout
print(json.dumps({"right": right, "wrong": wrong, "below": below, "above": above_readout,
                  "statuses": {k: v["status"] for k, v in report.items()}}))
"""


@pytest.fixture(scope="module")
def run():
    return nbrun.run_notebook(NAME, {"probe": PROBE})


def test_runs_clean_and_explorer_answers(run):
    nb, results, _ = run
    nbrun.check_explorers(results, minimum=1)
    text = nbrun.all_text(nb)
    assert "All set." in text or "Fix:" in text


def test_environment_report_is_complete(run):
    _, results, _ = run
    statuses = results["probe"]["statuses"]
    for name in ("python", "numpy", "matplotlib", "ipywidgets", "ipyevents", "torch", "pooch", "data"):
        assert name in statuses
    assert all(statuses[n] == "ok" for n in ("numpy", "matplotlib", "ipywidgets", "ipyevents", "torch"))


def test_exercise_check_and_its_claim(run):
    _, results, _ = run
    probe = results["probe"]
    assert probe["right"] is True and probe["wrong"] is False
    assert max(abs(v) for v in probe["below"]) < 1.0  # lr 0.74 still converges
    assert "left the view" in probe["above"] or "diverged" in probe["above"]


def test_house_style(run):
    nb, _, _ = run
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert md.lstrip().startswith("# Start here")
    for heading in ("What you'll learn", "What you'll need", "Exercises", "Summary", "Further reading"):
        assert heading in md
