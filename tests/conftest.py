"""Test-run plumbing for pytest-xdist (``-n 2 --dist loadfile``, Makefile): each test file runs
whole on one worker, so a file's notebook (a module fixture) runs once and the browser tests run
one page at a time (two JupyterLab pages at once on two cores lag behind their kernels)."""
import pytest

# The longest files start first, so no worker is left alone with one of them at the end.
_FIRST = ("test_browser.py", "test_launch.py", "test_book_sections.py", "test_release.py")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(_FIRST)))  # stable: order within kept
