"""d2l.live_figure: a pyplot drawing that follows sliders, as PNG frames in an Image widget."""
import ipywidgets as widgets
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import d2lmini as d2l  # noqa: E402


def _draw(eta, beta):
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [eta, beta], "o-")
    ax.set_ylim(0, 1)


def test_live_figure_redraws_when_a_control_moves_and_leaves_no_figure_open():
    eta, beta = widgets.FloatSlider(value=0.2, min=0, max=1), widgets.FloatSlider(value=0.5, min=0, max=1)
    open_before = plt.get_fignums()
    image = d2l.live_figure(_draw, {"eta": eta, "beta": beta})
    first = image.value
    assert isinstance(image, widgets.Image) and first[:8] == b"\x89PNG\r\n\x1a\n"
    eta.value = 0.9
    assert image.value != first and image.value[:8] == b"\x89PNG\r\n\x1a\n"
    moved = image.value
    beta.value = 0.1
    assert image.value not in (first, moved)
    eta.value, beta.value = 0.2, 0.5        # back where it started: the same picture again
    assert image.value == first
    assert plt.get_fignums() == open_before  # every frame's figure is closed


def test_live_figure_closes_its_figure_when_draw_fails():
    s = widgets.FloatSlider(value=0.2)
    open_before = plt.get_fignums()

    def broken(eta):
        plt.figure()
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        d2l.live_figure(broken, {"eta": s})
    assert plt.get_fignums() == open_before


@pytest.mark.parametrize("draw, controls, match", [
    (None, {"eta": widgets.FloatSlider()}, "draw must be a function"),
    (_draw, {}, "controls must be a dict"),
    (_draw, [widgets.FloatSlider()], "controls must be a dict"),
    (_draw, {"eta": 0.3}, r"controls\['eta'\] must be a widget"),
])
def test_live_figure_bad_input(draw, controls, match):
    with pytest.raises(TypeError, match=match):
        d2l.live_figure(draw, controls)
