"""Tests for course_utils.pretraining (chapter 6): the masked-word objective, features, snapshots."""
import keras
import numpy as np
import pytest

from course_utils import pretraining as pt


def test_masked_word_examples_hide_one_ordinary_word_per_row():
    rows = np.array([[2, 7, 9, 3, 0, 0], [2, 5, 3, 0, 0, 0], [2, 3, 0, 0, 0, 0]])   # row 3: no ordinary word
    context, target = pt.masked_word_examples(rows, seed=0)
    assert context.shape == (2, 6) and target.shape == (2,)
    kept = rows[:2]
    diff = context != kept
    assert diff.sum(axis=1).tolist() == [1, 1]                       # exactly one position changed per row
    assert (context[diff] == 0).all() and (kept[diff] == target).all()
    assert (target >= 5).all() and target[1] == 5                     # never a special token
    assert rows[0, 1] == 7                                             # the input is not modified


def test_masked_word_examples_choose_uniformly_and_vary_with_the_seed():
    rows = np.tile([[2, 10, 11, 12, 13, 3]], (4000, 1))
    _, target = pt.masked_word_examples(rows, seed=1)
    share = np.bincount(target, minlength=14)[10:] / len(target)
    assert np.abs(share - 0.25).max() < 0.03
    _, again = pt.masked_word_examples(rows, seed=1)
    _, other = pt.masked_word_examples(rows, seed=2)
    assert (again == target).all() and (other != target).any()


@pytest.mark.parametrize("bad, match", [
    (np.array([1, 2, 3]), "2-D integer"), (np.array([[1.0, 7.0]]), "2-D integer"),
    (np.array([[2, -1]]), "negative"), (np.array([[2, 3, 0]]), "no row holds an ordinary token")])
def test_masked_word_examples_reject_bad_rows(bad, match):
    with pytest.raises(ValueError, match=match):
        pt.masked_word_examples(bad)


def test_masked_word_model_learns_co_occurrence():
    # two "topics": words 5-9 only occur together, and so do 10-14; the hidden word's topic is learnable
    rng = np.random.default_rng(0)
    topic = rng.integers(0, 2, 2000)
    rows = np.concatenate([np.full((2000, 1), 2), 5 + 5 * topic[:, None] + rng.integers(0, 5, (2000, 6)),
                           np.full((2000, 1), 3)], axis=1)
    keras.utils.set_random_seed(0)
    model = pt.build_masked_word_model(vocab_size=15, dim=8, seed=0)
    model.compile(keras.optimizers.Adam(0.02), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    for epoch in range(8):
        context, target = pt.masked_word_examples(rows, seed=epoch)
        model.fit(context, target, batch_size=64, verbose=0)
    context, target = pt.masked_word_examples(rows, seed=99)
    guess = model.predict(context, verbose=0).argmax(1)
    assert np.mean((guess >= 10) == (target >= 10)) > 0.95            # right topic
    table = model.get_layer("word_embeddings").get_weights()[0]
    feats = pt.bag_of_embeddings(table, rows)
    assert np.mean((feats @ (feats[topic == 1].mean(0) - feats[topic == 0].mean(0)) > 0) == topic) > 0.95


def test_masked_word_model_checks_sizes():
    with pytest.raises(ValueError, match="vocab_size"):
        pt.build_masked_word_model(1, 8)


def test_bag_of_embeddings_averages_ordinary_tokens_only():
    table = np.arange(20, dtype=np.float32).reshape(10, 2)
    rows = np.array([[2, 5, 7, 3, 0], [2, 3, 0, 0, 0]])
    feats = pt.bag_of_embeddings(table, rows)
    np.testing.assert_allclose(feats, [[(10 + 14) / 2, (11 + 15) / 2], [0, 0]])
    with pytest.raises(ValueError, match="only 10 rows"):
        pt.bag_of_embeddings(table, np.array([[2, 10]]))
    with pytest.raises(ValueError, match="vocab_size, dim"):
        pt.bag_of_embeddings(table[0], rows)


def test_weight_snapshots_at_chosen_steps():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    x, y = np.ones((8, 3), "float32"), np.zeros((8, 1), "float32")
    start = [w.copy() for w in model.get_weights()]
    snaps = pt.WeightSnapshots([0, 3, 5, 100])
    model.fit(x, y, batch_size=2, epochs=2, shuffle=False, callbacks=[snaps], verbose=0)   # 8 steps
    assert sorted(snaps.snapshots) == [0, 3, 5] and snaps.missing() == [100]
    for a, b in zip(snaps.snapshots[0], start):
        np.testing.assert_array_equal(a, b)
    # a fresh copy with the step-5 weights continues exactly like the run did: replay steps 6-8
    replay = keras.models.clone_model(model)
    replay.set_weights(snaps.snapshots[5])
    replay.compile(keras.optimizers.SGD(0.1), "mse")
    replay.fit(x[2:], y[2:], batch_size=2, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(replay.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert not np.allclose(snaps.snapshots[3][0], snaps.snapshots[5][0])


def test_weight_snapshots_reject_bad_steps():
    with pytest.raises(ValueError, match="step counts"):
        pt.WeightSnapshots([])
    with pytest.raises(ValueError, match="step counts"):
        pt.WeightSnapshots([-1, 5])
