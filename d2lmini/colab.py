"""Where the course runs: Colab detection and an environment check for the first notebook."""
from __future__ import annotations

import importlib
import os
import platform
import sys
from typing import Dict, List, Tuple

__all__ = ["in_colab", "check_environment"]

#: (module, what the course needs it for, minimum version)
REQUIRED: Tuple[Tuple[str, str, str], ...] = (
    ("numpy", "all the math", "1.22"),
    ("matplotlib", "every figure", "3.5"),
    ("ipywidgets", "the sliders", "7.6"),
    ("ipyevents", "clicks and drags on the explorers' plots", "2.0.2"),
    ("torch", "minibatch training and torch.optim", "2.0"),
    ("pooch", "downloading the airfoil data", "1.6"),
)


def in_colab() -> bool:
    """True when running on Google Colab."""
    return "google.colab" in sys.modules


def _version_tuple(text: str) -> Tuple[int, ...]:
    out: List[int] = []
    for part in text.split("+")[0].split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        if not digits:
            break
        out.append(int(digits))
    return tuple(out)


def check_environment(verbose: bool = True) -> Dict[str, Dict[str, str]]:
    """Check that everything the course needs is here, with advice where it is not.

    Returns ``{name: {"status": "ok" | "missing" | "old" | "info", "detail": ..., "advice": ...}}``
    and prints a short table when ``verbose``.
    """
    report: Dict[str, Dict[str, str]] = {}
    report["python"] = {"status": "ok", "detail": platform.python_version(), "advice": ""}
    if sys.version_info < (3, 9):
        report["python"].update(status="old", advice="use Python 3.9 or newer")
    for module, purpose, minimum in REQUIRED:
        try:
            mod = importlib.import_module(module)
        except ImportError:
            advice = (
                "install a CPU build: pip install torch --index-url https://download.pytorch.org/whl/cpu"
                if module == "torch"
                else f"pip install '{module}>={minimum}'"
            )
            report[module] = {"status": "missing", "detail": f"needed for {purpose}", "advice": advice}
            continue
        version = getattr(mod, "__version__", "?")
        status = "ok" if _version_tuple(version) >= _version_tuple(minimum) else "old"
        advice = "" if status == "ok" else f"upgrade to {module}>={minimum}"
        report[module] = {"status": status, "detail": version, "advice": advice}
    if in_colab():
        report["widgets"] = _check_colab_widgets()
    try:
        import matplotlib

        backend = matplotlib.get_backend()
        report["backend"] = {"status": "info", "detail": backend, "advice": ""}
    except ImportError:
        pass
    report["data"] = _check_data()
    report["where"] = {
        "status": "info",
        "detail": "Google Colab" if in_colab() else ("Binder" if os.environ.get("BINDER_SERVICE_HOST") else "local"),
        "advice": "",
    }
    if verbose:
        width = max(len(k) for k in report)
        for name, item in report.items():
            mark = {"ok": "ok ", "info": "   ", "missing": "!! ", "old": "!! "}[item["status"]]
            line = f"{mark}{name:<{width}}  {item['detail']}"
            if item["advice"]:
                line += f"  -> {item['advice']}"
            print(line)
        problems = [k for k, v in report.items() if v["status"] in ("missing", "old")]
        print("\nAll set." if not problems else f"\nFix: {', '.join(problems)} (see the advice above).")
    return report


def _check_colab_widgets() -> Dict[str, str]:
    """On Colab, ipyevents (a third-party widget) shows only with the custom widget manager."""
    manager = sys.modules.get("google.colab.output._widgets")
    if getattr(manager, "_installed_url", None):
        return {"status": "ok", "detail": "Colab's custom widget manager is on (clicks on the plots work)",
                "advice": ""}
    return {
        "status": "missing",
        "detail": "Colab's custom widget manager is off: clicks on the explorers' plots do nothing",
        "advice": "run the set-up cell at the top of the notebook (it calls "
        "google.colab.output.enable_custom_widget_manager())",
    }


def _check_data() -> Dict[str, str]:
    from . import data

    try:
        folder = data._resolve_dir(None)
    except Exception as exc:  # a misconfigured folder is advice, not a crash
        return {"status": "missing", "detail": str(exc), "advice": "set D2LMINI_DATA_DIR to a folder you can write"}
    path = folder / data.AIRFOIL_FILENAME
    if path.exists():
        return {"status": "ok", "detail": f"airfoil data at {path}", "advice": ""}
    return {
        "status": "info",
        "detail": f"airfoil data not downloaded yet (it goes to {folder})",
        "advice": f"it downloads on first use (needs internet); offline, copy {data.AIRFOIL_FILENAME} "
        "into that folder or set D2LMINI_DATA_DIR",
    }
