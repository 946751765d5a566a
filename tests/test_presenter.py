"""Presenter mode: one switch makes every figure and explorer bigger, with larger fonts."""
import matplotlib

matplotlib.use("Agg")

import pytest

import d2lmini as d2l


@pytest.fixture
def presenter():
    d2l.presenter_mode(False)
    yield
    d2l.presenter_mode(False)


def _size_and_font(explorer):
    return tuple(explorer.fig.get_size_inches()), explorer.ax.xaxis.label.get_fontsize()


def test_presenter_mode_scales_plots_and_explorers(presenter):
    base_font = matplotlib.rcParams["font.size"]
    d2l.set_figsize()
    base_fig = tuple(matplotlib.rcParams["figure.figsize"])
    ex_size, ex_font = _size_and_font(d2l.explore("gd"))
    one_d = d2l.explore_1d().fig.get_size_inches()[0]

    d2l.presenter_mode(scale=1.5)
    d2l.set_figsize()
    assert tuple(matplotlib.rcParams["figure.figsize"]) == pytest.approx((base_fig[0] * 1.5, base_fig[1] * 1.5))
    assert matplotlib.rcParams["font.size"] == pytest.approx(base_font * 1.5)
    big_size, big_font = _size_and_font(d2l.explore("gd"))
    assert big_size == pytest.approx((ex_size[0] * 1.5, ex_size[1] * 1.5))
    assert big_font == pytest.approx(ex_font * 1.5)
    assert d2l.explore_1d().fig.get_size_inches()[0] == pytest.approx(one_d * 1.5)
    assert d2l.race().fig.get_size_inches()[0] > ex_size[0]
    anim = d2l.Animator()
    assert anim.fig.get_size_inches()[0] == pytest.approx(3.5 * 1.5)

    d2l.presenter_mode(False)
    assert matplotlib.rcParams["font.size"] == base_font
    d2l.set_figsize()
    assert tuple(matplotlib.rcParams["figure.figsize"]) == pytest.approx(base_fig)


def test_presenter_mode_bad_input(presenter):
    with pytest.raises(ValueError, match="scale"):
        d2l.presenter_mode(scale=0.5)
    with pytest.raises(TypeError, match="on"):
        d2l.presenter_mode("yes")
