"""Test-run plumbing: how pytest-xdist's workers share the suite (``--dist loadgroup``, Makefile)."""
import pytest

# The longest files start first, so no worker is left alone with one of them at the end.
_FIRST = ("test_browser.py", "test_launch.py", "test_book_sections.py", "test_release.py")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """One group per test file: a file's notebook (a module fixture) runs once, on one worker,
    and the browser tests stay together on one worker, so only one JupyterLab and one Chromium
    run at a time (two at once on two cores make the pages lag behind their kernels)."""
    rank = {name: i for i, name in enumerate(_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(_FIRST)))  # stable: order within kept
    for item in items:
        item.add_marker(pytest.mark.xdist_group(item.path.name))
