import shutil

import numpy as np
import pytest

from course_utils import data


@pytest.mark.parametrize("loader", [data.load_mnist, data.load_fashion_mnist])
def test_image_sets(loader):
    (x_train, y_train), (x_test, y_test) = loader()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == y_train.dtype == np.uint8
    assert set(np.unique(y_train)) == set(range(10)) == set(np.unique(y_test))
    counts = np.bincount(y_train)
    assert counts.min() > 5000 and counts.max() < 7000  # roughly balanced
    assert 0 < x_train.mean() < 255 and x_train.max() == 255


def test_mnist_known_labels():
    (_, y_train), (_, y_test) = data.load_mnist()
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert y_test[:5].tolist() == [7, 2, 1, 0, 4]


def test_polarity_splits():
    splits = data.load_sentence_polarity()
    sizes = {k: len(v[0]) for k, v in splits.items()}
    assert sizes == {"train": 8454, "validation": 1056, "test": 1056}
    for texts, labels in splits.values():
        assert len(texts) == len(labels) and set(labels.tolist()) == {0, 1}
        assert abs(labels.mean() - 0.496) < 0.01  # stratified
    sets = {k: {data.normalize_text(t) for t in v[0]} for k, v in splits.items()}
    assert not sets["train"] & sets["test"] and not sets["train"] & sets["validation"]
    assert not sets["validation"] & sets["test"]


def test_review_corpus_has_no_leak():
    corpus = data.load_review_corpus()
    assert len(corpus) == 12046
    splits = data.load_sentence_polarity()
    held_out = {data.normalize_text(t) for s in ("validation", "test") for t in splits[s][0]}
    assert not held_out & {data.normalize_text(t) for t in corpus}


def test_subset_is_stratified_and_seeded():
    x = np.arange(1000)
    y = np.repeat(np.arange(4), [100, 200, 300, 400])
    xs, ys = data.subset(x, y, 100, seed=1)
    assert len(xs) == 100 and np.bincount(ys).tolist() == [10, 20, 30, 40]
    assert np.array_equal(xs, data.subset(x, y, 100, seed=1)[0])
    assert np.array_equal(y[xs], ys)  # pairs stay together
    texts, yt = data.subset([str(i) for i in x], y, 10)
    assert isinstance(texts, list) and len(texts) == 10
    with pytest.raises(ValueError, match="items"):
        data.subset(x[:5], y, 3)


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    src = data.data_dir()
    for name in ("SHA256SUMS", "polarity_train.tsv", "polarity_validation.tsv", "polarity_test.tsv"):
        shutil.copy(src / name, tmp_path / name)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    return tmp_path


def test_corrupt_file_gives_clear_error(data_copy):
    with open(data_copy / "polarity_test.tsv", "a") as f:
        f.write("1\tan extra line\n")
    with pytest.raises(data.DataError, match=r"polarity_test.tsv is corrupt.*git checkout"):
        data.load_sentence_polarity()


def test_missing_file_gives_clear_error(data_copy):
    with pytest.raises(data.DataError, match=r"mnist.npz is missing.*Restore"):
        data.load_mnist()
    (data_copy / "SHA256SUMS").unlink()
    with pytest.raises(data.DataError, match="SHA256SUMS is missing"):
        data.load_sentence_polarity()


def test_checksums_cover_every_data_file():
    listed = set(data._expected_sums(data.data_dir()))
    shipped = {p.name for p in data.data_dir().iterdir() if p.suffix in {".npz", ".tsv", ".gz"}}
    assert listed == shipped


def test_load_dataset_switch(tmp_path, monkeypatch, capsys):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=6, data_dir=str(tmp_path)):
        (x, y), (xt, yt), names, name = data.load_image_dataset("cifar10")
    assert name == "cifar10" and x.shape == (6, 32, 32, 3) and x.dtype == np.uint8 and len(names) == 10
    assert y.max() < 10 and xt.shape[1:] == (32, 32, 3)

    def offline(*args, **kwargs):
        raise data.OfflineError("no network (simulated)")

    monkeypatch.setattr(data, "load_tfds", offline)
    (x, _), _, names, name = data.load_image_dataset("cifar10")
    assert name == "fashion_mnist" and x.shape == (60000, 28, 28, 1) and names == data.FASHION_CLASSES
    assert "needs the network" in capsys.readouterr().out
    with pytest.raises(ValueError, match="DATASET"):
        data.load_image_dataset("imagenet")
