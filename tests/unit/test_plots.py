"""Plots (course_utils.plots): wherever colour encodes a value, the figure has a colorbar."""
import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_utils import plots

plt.switch_backend("Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def colorbars(fig):
    """The colorbar axes of ``fig`` (matplotlib labels them ``<colorbar>``)."""
    return [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]


def _images(fig):
    return [im for ax in fig.axes if ax.get_label() != "<colorbar>" for im in ax.get_images()]


def test_confusion_matrix_has_a_colorbar():
    y = np.array([0, 1, 2, 2, 1, 0, 2])
    fig = plots.plot_confusion_matrix(y, np.array([0, 2, 2, 2, 1, 0, 1]), ["a", "b", "c"])
    assert len(colorbars(fig)) == 1
    assert [ax.get_ylabel() for ax in colorbars(fig)] == ["examples"]
    fig = plots.plot_confusion_matrix(y, y, normalize=True)
    assert [ax.get_ylabel() for ax in colorbars(fig)] == ["fraction of the true class"]


def test_plain_digit_grid_has_no_colorbar_and_keeps_its_scaling():
    digits = np.random.default_rng(0).integers(0, 256, size=(10, 28, 28)).astype(np.uint8)
    fig = plots.image_grid(digits, labels=list(range(10)), ncols=5)
    assert colorbars(fig) == [] and len(fig.axes) == 10
    # each digit scaled on its own, as before (no shared vmin/vmax)
    assert [im.get_clim() for im in _images(fig)] == [(d.min(), d.max()) for d in digits]
    rgb = np.random.default_rng(1).uniform(-1, 1, size=(4, 8, 8, 3))     # colour images never get one
    assert colorbars(plots.image_grid(rgb, ncols=4, colorbar=True)) == []


def test_digit_grid_gets_a_colorbar_when_asked():
    maps = np.random.default_rng(0).uniform(0, 3, size=(6, 5, 5, 1))
    fig = plots.image_grid(maps, ncols=3, colorbar=True, colorbar_label="activation")
    (bar_ax,) = colorbars(fig)
    assert bar_ax.get_ylabel() == "activation"
    assert {im.get_clim() for im in _images(fig)} == {(maps.min(), maps.max())}   # one shared scale


@pytest.mark.parametrize("cmap", ["bwr", "viridis", plt.get_cmap("RdBu_r")])
def test_value_colormap_grid_gets_a_colorbar(cmap):
    filters = np.random.default_rng(0).normal(size=(16, 3, 3))
    fig = plots.image_grid(filters, [f"filter {i}" for i in range(16)], ncols=8, cmap=cmap)
    assert len(colorbars(fig)) == 1
    # signed values: one scale symmetric about 0, so 0 is the colormap's middle in every panel
    m = np.abs(filters).max()
    assert {im.get_clim() for im in _images(fig)} == {(-m, m)}


def test_signed_values_get_a_colorbar_even_in_grey_unless_refused():
    heat = np.random.default_rng(0).normal(size=(4, 6, 6))
    assert len(colorbars(plots.image_grid(heat, ncols=4))) == 1
    assert colorbars(plots.image_grid(heat, ncols=4, colorbar=False)) == []


def test_value_grid_writes_every_value_and_has_a_colorbar():
    values = np.array([[0.71, 0.74, 0.78], [0.70, 0.75, 0.79]])
    fig = plots.value_grid(values, ["0", "1e-4"], [1000, 3000, 10000], xlabel="vocabulary size",
                           ylabel="L2 penalty", colorbar_label="validation accuracy", best=(1, 2))
    assert [ax.get_ylabel() for ax in colorbars(fig)] == ["validation accuracy"]
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert texts == ["0.710", "0.740", "0.780", "0.700", "0.750", "0.790"]
    assert len(fig.axes[0].patches) == 1          # the chosen cell is outlined


@pytest.mark.parametrize("values, rows, cols", [(np.zeros(3), ["a"], ["b"]),
                                                (np.zeros((2, 2)), ["a"], ["b", "c"])])
def test_value_grid_rejects_bad_shapes(values, rows, cols):
    with pytest.raises(ValueError):
        plots.value_grid(values, rows, cols)


def test_conv_diagram_draws_padding_windows_and_output():
    fig = plots.conv_diagram(size=5, kernel=3, stride=2, padding=1)
    ax_in, ax_out = fig.axes
    windows = [p for p in ax_in.patches if not p.get_fill()]
    assert len(windows) == 3 and {w.get_width() < 3 for w in windows} == {True}
    assert len(ax_in.patches) == 7 * 7 + 3                   # the padded 7x7 grid and three windows
    assert sum(t.get_text() == "0" for t in ax_in.texts) == 7 * 7 - 5 * 5   # every padding cell says 0
    assert len(ax_out.patches) == 3 * 3 and "output 3x3" in ax_out.get_title()
    assert "= 3" in fig._suptitle.get_text()


@pytest.mark.parametrize("kwargs, match", [(dict(kernel=8), "does not fit"), (dict(stride=0), "stride"),
                                           (dict(padding=-1), "padding"),
                                           (dict(positions=[(5, 5)]), "positions")])
def test_conv_diagram_rejects_bad_geometry(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plots.conv_diagram(**kwargs)
