"""Plots reused across chapters: training curves, image grids, confusion matrices, a convolution's geometry.

Wherever colour encodes a value (a confusion matrix, a grid of filters or heat maps) the figure has a
colorbar.

First used in notebook 00."""
import matplotlib.pyplot as plt
import numpy as np


def plot_history(history, metrics=None, title=None):
    """Plot a Keras ``History`` (or a dict of lists): one panel per metric, train and ``val_`` together."""
    h = getattr(history, "history", history)
    if not h:
        raise ValueError("history is empty")
    names = metrics or [k for k in h if not k.startswith("val_")]
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names):
        ax.plot(np.arange(1, len(h[name]) + 1), h[name], label="train")
        if f"val_{name}" in h:
            ax.plot(np.arange(1, len(h[f"val_{name}"]) + 1), h[f"val_{name}"], label="validation")
        ax.set(xlabel="epoch", ylabel=name)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


GREY_MAPS = {"gray", "grey", "gray_r", "grey_r", "Greys", "Greys_r", "binary", "binary_r"}


def image_grid(images, labels=None, ncols=8, cmap="gray", title=None, size=1.3, colorbar=None,
               colorbar_label=None):
    """Show images (N, H, W) or (N, H, W, C) in a grid, with optional labels under each.

    Args:
        images: pictures (digits, photos) or single-channel value maps (filters, heat maps).
        labels: one text under each image.
        cmap: the colormap of single-channel images; a value colormap (``"bwr"``, ``"viridis"``) says the
            colours stand for numbers.
        colorbar: ``True`` draws one colorbar beside the grid, and then every panel shares one colour scale
            (symmetric about 0 when some value is negative, so 0 is the colormap's middle). ``None`` (the
            default) draws one when single-channel images carry values rather than pictures: a colormap
            other than grey, or negative values. ``False`` never. Colour images get none.
        colorbar_label: the colorbar's caption (e.g. ``"weight"``).
    """
    images = np.asarray(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"images must have shape (N, H, W) or (N, H, W, C), got {images.shape}")
    n = len(images)
    single = images.ndim == 3 or images.shape[-1] == 1
    if colorbar is None:
        colorbar = single and n > 0 and (getattr(cmap, "name", cmap) not in GREY_MAPS
                                         or bool(np.nanmin(images) < 0))
    scale = {}
    if colorbar and single and n > 0:   # one scale for all panels, or one colorbar could not read them all
        low, high = float(np.nanmin(images)), float(np.nanmax(images))
        if low < 0:
            high = max(abs(low), abs(high))
            low = -high
        scale = {"vmin": low, "vmax": high}
    nrows = max(1, int(np.ceil(n / ncols)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows * 1.1), squeeze=False)
    shown = None
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            img = images[i]
            shown = ax.imshow(img.squeeze(-1) if img.ndim == 3 and img.shape[-1] == 1 else img,
                              cmap=cmap if img.ndim == 2 or img.shape[-1] == 1 else None, **scale)
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if colorbar and single and shown is not None:   # after tight_layout: it would squeeze the bar
        fig.colorbar(shown, ax=axes.ravel().tolist(), fraction=0.03, pad=0.02, label=colorbar_label)
    return fig


def confusion_matrix(y_true, y_pred, num_classes=None):
    """Counts: row = true class, column = predicted class."""
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has {y_pred.shape}")
    k = num_classes or int(max(y_true.max(), y_pred.max())) + 1
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def plot_confusion_matrix(y_true, y_pred, class_names=None, normalize=False, title="confusion matrix"):
    """Heatmap of :func:`confusion_matrix` with a colorbar, counts (or row fractions) written in each cell."""
    cm = confusion_matrix(y_true, y_pred, len(class_names) if class_names else None)
    shown = cm / np.maximum(cm.sum(1, keepdims=True), 1) if normalize else cm
    k = len(cm)
    names = class_names or [str(i) for i in range(k)]
    fig, ax = plt.subplots(figsize=(0.6 * k + 2, 0.6 * k + 1.5))
    image = ax.imshow(shown, cmap="Blues")
    ax.set(xticks=range(k), yticks=range(k), xlabel="predicted", ylabel="true", title=title)
    ax.set_xticklabels(names, rotation=45, ha="right")
    ax.set_yticklabels(names)
    for i in range(k):
        for j in range(k):
            txt = f"{shown[i, j]:.2f}" if normalize else str(cm[i, j])
            ax.text(j, i, txt, ha="center", va="center", fontsize=7,
                    color="white" if shown[i, j] > shown.max() / 2 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04,
                 label="fraction of the true class" if normalize else "examples")
    fig.tight_layout()
    return fig


def accuracy_bars(entries, labels=None, title=None, ax=None, xlabel="test accuracy"):
    """Horizontal bars of accuracies with their 95 % intervals as error bars (chapters 3 and 6).

    Args:
        entries: records from :func:`course_utils.results.record` (each with ``value`` and ``ci95``),
            or ``(value, (low, high))`` pairs.
        labels: one label per bar (default: each record's ``name``).
        title, xlabel: figure text; ``ax``: draw into an existing axis.

    Two bars whose intervals overlap may still differ significantly when both models were tested on the
    same examples: that question is answered by a paired comparison (:func:`course_utils.results.compare`).
    """
    values, lows, highs = [], [], []
    for e in entries:
        value, ci = (e["value"], e.get("ci95")) if isinstance(e, dict) else (e[0], e[1])
        if ci is None:
            raise ValueError(f"entry {e.get('name', e) if isinstance(e, dict) else e!r} has no 95 % interval "
                             "(record it with n=...)")
        low, high = ci
        if not low <= value <= high:
            raise ValueError(f"interval {ci} does not contain its value {value}")
        values.append(value), lows.append(value - low), highs.append(high - value)
    if labels is None:
        labels = [e["name"] if isinstance(e, dict) else str(i) for i, e in enumerate(entries)]
    if len(labels) != len(values):
        raise ValueError(f"{len(labels)} labels for {len(values)} bars")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.45 * len(values) + 1.2))
    y = np.arange(len(values))[::-1]
    ax.barh(y, values, xerr=[lows, highs], color="tab:blue", alpha=0.75, capsize=4,
            error_kw={"elinewidth": 1.5})
    for yi, v, h in zip(y, values, highs):
        ax.text(v + h + 0.003, yi, f"{v:.3f}", va="center", fontsize=9)
    ax.set_yticks(y, labels)
    span = min(v - lo for v, lo in zip(values, lows)), max(v + h for v, h in zip(values, highs))
    pad = max(0.02, 0.15 * (span[1] - span[0]))
    ax.set_xlim(max(0.0, span[0] - pad), min(1.0, span[1] + 2 * pad))
    ax.set_xlabel(f"{xlabel} (bars: 95 % interval)")
    ax.grid(axis="x", alpha=0.3)
    if title:
        ax.set_title(title)
    ax.figure.tight_layout()
    return ax.figure


def value_grid(values, row_labels, col_labels, title=None, xlabel=None, ylabel=None, colorbar_label=None,
               fmt="{:.3f}", best=None, ax=None):
    """A table of numbers as a heatmap (e.g. a validation accuracy per pair of hyperparameters, chapter 4):
    each cell coloured by its value and written in it, with a colorbar.

    Args:
        values: (rows, columns) numbers; ``row_labels`` and ``col_labels`` name the rows and columns.
        title, xlabel, ylabel, colorbar_label: figure text (``xlabel`` names the columns' variable).
        fmt: how each number is written in its cell.
        best: optional ``(row, column)`` of a cell to outline (the chosen one).
        ax: draw into an existing axis.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.size == 0:
        raise ValueError(f"values must be a non-empty 2-D table, got shape {values.shape}")
    if len(row_labels) != values.shape[0] or len(col_labels) != values.shape[1]:
        raise ValueError(f"{len(row_labels)} row labels and {len(col_labels)} column labels for a table of "
                         f"shape {values.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(1.4 * values.shape[1] + 2.5, 0.55 * values.shape[0] + 1.6))
    image = ax.imshow(values, cmap="viridis", aspect="auto")
    ax.set_xticks(range(values.shape[1]), [str(c) for c in col_labels])
    ax.set_yticks(range(values.shape[0]), [str(r) for r in row_labels])
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    middle = (np.nanmin(values) + np.nanmax(values)) / 2
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            ax.text(j, i, fmt.format(values[i, j]), ha="center", va="center", fontsize=9,
                    color="black" if values[i, j] > middle else "white")
    if best is not None:
        i, j = best
        ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", lw=2.5))
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label=colorbar_label)
    ax.figure.tight_layout()
    return ax.figure


WINDOW_COLOURS = ("tab:red", "tab:blue", "tab:green", "tab:orange")


def conv_diagram(size=5, kernel=3, stride=2, padding=1, positions=None):
    """Draw cross-correlation with zero padding and a stride (chapter 3, §1): the padded input grid (padding
    cells grey, marked 0), the kernel's window at a few output positions, and the output grid with the cell
    each window produces in the same colour.

    Args:
        size: the input's height and width; kernel: the kernel's; stride: the step between windows;
        padding: zero rows/columns added on each side.
        positions: output cells ``(row, column)`` whose windows are drawn (at most 4; default: the first,
            its right neighbour and the first of the next row).

    Returns the figure. Output size: ``(size + 2·padding − kernel) // stride + 1``.
    """
    checks = (("size", size, 1), ("kernel", kernel, 1), ("stride", stride, 1), ("padding", padding, 0))
    for name, v, least in checks:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < least:
            raise ValueError(f"{name} must be an integer >= {least}, got {v!r}")
    padded = size + 2 * padding
    if kernel > padded:
        raise ValueError(f"a {kernel}x{kernel} kernel does not fit in the padded {padded}x{padded} input")
    out = (padded - kernel) // stride + 1
    if positions is None:
        positions = [(0, 0), (0, 1), (1, 0)]
    positions = [(int(i), int(j)) for i, j in positions if i < out and j < out]
    if not 1 <= len(positions) <= len(WINDOW_COLOURS):
        raise ValueError(f"need 1 to {len(WINDOW_COLOURS)} positions inside the {out}x{out} output, "
                         f"got {positions}")
    fig, (ax_in, ax_out) = plt.subplots(1, 2, figsize=(4 + 0.45 * padded, 0.45 * padded + 1.4),
                                        gridspec_kw={"width_ratios": [padded, max(out, 2)]})
    for r in range(padded):
        for c in range(padded):
            is_pad = not (padding <= r < padding + size and padding <= c < padding + size)
            ax_in.add_patch(plt.Rectangle((c, r), 1, 1, facecolor="0.85" if is_pad else "white",
                                          edgecolor="0.5", lw=0.8))
            if is_pad:
                ax_in.text(c + 0.5, r + 0.5, "0", ha="center", va="center", fontsize=8, color="0.4")
    for k, ((i, j), colour) in enumerate(zip(positions, WINDOW_COLOURS)):
        inset = 0.06 * (k + 1)
        ax_in.add_patch(plt.Rectangle((j * stride + inset, i * stride + inset), kernel - 2 * inset,
                                      kernel - 2 * inset, fill=False, edgecolor=colour, lw=2.5,
                                      label=f"window of output ({i}, {j})"))
    for r in range(out):
        for c in range(out):
            hit = [colour for (i, j), colour in zip(positions, WINDOW_COLOURS) if (i, j) == (r, c)]
            ax_out.add_patch(plt.Rectangle((c, r), 1, 1, facecolor=hit[0] if hit else "white", alpha=0.6,
                                           edgecolor="0.3", lw=0.8))
    for ax, n, title in ((ax_in, padded, f"input {size}x{size}, padded by {padding} (grey: zeros)"),
                         (ax_out, out, f"output {out}x{out}")):
        ax.set(xlim=(0, max(n, 2)), ylim=(max(n, 2), 0), aspect="equal", title=title)
        ax.set_xticks([]), ax.set_yticks([])
    ax_in.legend(loc="upper left", bbox_to_anchor=(1.0, -0.02), fontsize=8, frameon=False)
    fig.suptitle(f"{kernel}x{kernel} kernel, stride {stride}: output size ({size} + 2*{padding} - {kernel}) "
                 f"// {stride} + 1 = {out}")
    fig.tight_layout()
    return fig
