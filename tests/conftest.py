"""Test-run plumbing: how pytest-xdist's workers share the suite (``--dist loadgroup``, Makefile)."""
import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """One group per test file, so a file's notebook (a module fixture) runs once, on one worker;
    the browser tests get one group per notebook instead: each takes a minute or more, and as one
    file they would keep a worker busy for most of the run."""
    for item in items:
        group = item.path.name
        callspec = getattr(item, "callspec", None)
        if group == "test_browser.py" and callspec is not None and "notebook" in callspec.params:
            group += "-" + str(callspec.params["notebook"])
        item.add_marker(pytest.mark.xdist_group(group))
