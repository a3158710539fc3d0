"""Unit tests for course_utils.distill (chapter 6): the loss, the transfer set, FLOPs, bad inputs."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils import distill  # noqa: E402

ROWS = np.array([[2, 11, 12, 13, 14, 3, 0, 0], [2, 21, 22, 3, 0, 0, 0, 0], [2, 31, 32, 33, 34, 35, 36, 3]])
SPECIAL = [0, 1, 2, 3, 4]


def test_loss_by_hand():
    t, s = np.array([[2.0, 0.0]]), np.array([[0.5, 0.0]])
    T, alpha = 2.0, 0.3
    p = np.exp(t / T) / np.exp(t / T).sum()
    q = np.exp(s / T) / np.exp(s / T).sum()
    q1 = np.exp(s) / np.exp(s).sum()
    kl = float((p * np.log(p / q)).sum())
    expected = (1 - alpha) * T * T * kl + alpha * -np.log(q1[0, 0])
    got = distill.distillation_loss(t, s, labels=[0], temperature=T, alpha=alpha)
    np.testing.assert_allclose(got, [expected], rtol=1e-12)
    # no label: the soft term only
    np.testing.assert_allclose(distill.distillation_loss(t, s, [-1], T, alpha), [(1 - alpha) * T * T * kl])


def test_keras_loss_matches_numpy_and_kl_divergence():
    rng = np.random.default_rng(0)
    t, s = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    labels = np.array([0, 2, -1, 1, -1, 0])
    loss = distill.DistillationLoss(temperature=3.0, alpha=0.4, reduction=None)
    got = keras.ops.convert_to_numpy(loss(distill.pack_targets(t, labels), s.astype("float32")))
    np.testing.assert_allclose(got, distill.distillation_loss(t, s, labels, 3.0, 0.4), rtol=1e-4, atol=1e-6)
    kld = keras.losses.KLDivergence(reduction=None)(distill.soften(t, 3.0), distill.soften(s, 3.0))
    soft_only = distill.distillation_loss(t, s, None, 3.0, 0.0)
    np.testing.assert_allclose(soft_only, 9.0 * keras.ops.convert_to_numpy(kld), rtol=1e-4)
    again = distill.DistillationLoss.from_config(loss.get_config())
    assert (again.temperature, again.alpha) == (3.0, 0.4)


@pytest.mark.parametrize("temperature", [0, -1.0, float("nan"), "2", True])
def test_temperature_must_be_positive(temperature):
    with pytest.raises(ValueError, match="temperature"):
        distill.distillation_loss([[1.0, 0.0]], [[0.0, 1.0]], temperature=temperature)
    with pytest.raises(ValueError, match="temperature"):
        distill.DistillationLoss(temperature=temperature)


def test_mismatched_label_counts_are_refused():
    with pytest.raises(ValueError, match="same examples and classes"):
        distill.distillation_loss(np.zeros((2, 3)), np.zeros((2, 2)))
    loss = distill.DistillationLoss()
    with pytest.raises(ValueError, match="teacher has 3 classes, the student 2"):
        loss(distill.pack_targets(np.zeros((2, 3))), np.zeros((2, 2), "float32"))
    student = distill.build_student(50, num_classes=2, num_layers=1, num_heads=2, hidden_dim=8, ff_dim=16,
                                    max_length=8)
    with pytest.raises(ValueError, match="teacher has 3 classes, the student 2"):
        distill.fit_student(student, ROWS, np.zeros((3, 3)), None, ROWS, [0, 1, 0], epochs=1, peak_lr=1e-3)


@pytest.mark.parametrize("call, match", [
    (lambda: distill.distillation_loss(np.zeros((0, 2)), np.zeros((0, 2))), "non-empty"),
    (lambda: distill.soften([], 1.0), "non-empty"),
    (lambda: distill.transfer_set(np.zeros((0, 8), int)), "no rows"),
    (lambda: distill.augment(np.zeros((0, 8), int), 1, 4, SPECIAL), "no rows"),
    (lambda: distill.pack_targets(np.zeros((0, 2))), "non-empty"),
    (lambda: distill.fit_student(None, np.zeros((0, 8), int), np.zeros((0, 2)), None, ROWS, [0, 1, 0],
                                 epochs=1, peak_lr=1e-3), "no rows"),
])
def test_empty_inputs_are_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_bad_alpha_labels_and_rates():
    with pytest.raises(ValueError, match="alpha"):
        distill.distillation_loss([[1.0, 0.0]], [[0.0, 1.0]], alpha=1.5)
    with pytest.raises(ValueError, match="labels must lie"):
        distill.distillation_loss([[1.0, 0.0]], [[0.0, 1.0]], labels=[2])
    with pytest.raises(ValueError, match="mask_rate"):
        distill.augment(ROWS, 1, 4, SPECIAL, mask_rate=2.0)
    with pytest.raises(ValueError, match="copies"):
        distill.augment(ROWS, 0, 4, SPECIAL)


def test_augment_masks_ordinary_tokens_and_cuts_ngrams():
    masked = distill.augment(ROWS, 4, 4, SPECIAL, mask_rate=0.5, ngram_rate=0.0, seed=0)
    assert masked.shape == (12, 8)
    for k in range(4):
        copy = masked[k * 3:(k + 1) * 3]
        assert np.array_equal(copy == 4, (copy != ROWS) & ~np.isin(ROWS, SPECIAL))   # only masks, on words
    assert (masked == 4).any()
    cut = distill.augment(ROWS, 5, 4, SPECIAL, mask_rate=0.0, ngram_rate=1.0, max_ngram=2, seed=0)
    for j, row in enumerate(cut):
        src = ROWS[j % 3]
        words = row[(row != 0) & ~np.isin(row, SPECIAL)]
        assert row[0] == 2 and row[len(words) + 1] == 3 and 1 <= len(words) <= 2
        real = list(src[1:(src != 0).sum() - 1])
        assert any(real[i:i + len(words)] == list(words) for i in range(len(real)))   # a contiguous n-gram


def test_transfer_set_drops_excluded_and_duplicate_rows_and_tracks_sources():
    rows = np.concatenate([ROWS, ROWS[:1]])
    ids, source = distill.transfer_set(rows, exclude=[ROWS[1:2]])
    assert len(ids) == 2 and not any(np.array_equal(r, ROWS[1]) for r in ids)
    assert all(np.array_equal(ids[j], rows[source[j]]) for j in range(len(ids)))
    ids, source = distill.transfer_set(ROWS, copies=3, mask_id=4, special_ids=SPECIAL, mask_rate=0.3, seed=1)
    assert len(ids) > 3 and len(np.unique(ids, axis=0)) == len(ids) and source.max() == 2
    with pytest.raises(ValueError, match="width"):
        distill.transfer_set(ROWS, exclude=[np.zeros((2, 5), int)])


def test_flops_formula_matches_the_built_model():
    student = distill.build_student(100, num_classes=2, num_layers=2, num_heads=2, hidden_dim=16, ff_dim=32,
                                    max_length=20)
    assert distill.model_flops(student, 12) == distill.encoder_flops(12, 2, 16, 32, num_classes=2)
    with pytest.raises(ValueError, match="seq_len"):
        distill.encoder_flops(0, 2, 16, 32)
    with pytest.raises(ValueError, match="seq_len"):
        distill.model_flops(student, 0)


def test_fit_student_learns_a_teacher_and_keeps_the_best_epoch():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    n = 256
    label = rng.integers(0, 2, n)
    x = np.zeros((n, 6), dtype="int32")
    x[:, 0], x[:, 5] = 2, 3
    x[:, 1:5] = rng.integers(10, 30, (n, 4))
    x[:, 2] = np.where(label == 1, 40, 41)                      # one word gives the class away
    teacher = np.stack([-3.0 * label + 1.5, 3.0 * label - 1.5], axis=1)
    student = distill.build_student(50, num_layers=1, num_heads=2, hidden_dim=16, ff_dim=32, max_length=8)
    acc = distill.fit_student(student, x, teacher, np.full(n, -1), x[:64], label[:64], epochs=4, peak_lr=3e-3,
                              batch_size=32)
    assert len(acc) == 4 and max(acc) > 0.9


def test_student_encoder_takes_a_pretrained_mini_bert():
    from course_utils import bert

    sizes = dict(num_layers=1, num_heads=2, hidden_dim=8, ff_dim=16, max_length=8)
    mini = bert.build_bert(40, dropout=0.0, norm_first=True, seed=1, **sizes)
    student = distill.build_student(40, **sizes)
    student.layers[1].set_weights(mini.get_weights())       # what the chapter's STUDENT_FROM_MINI_BERT does
    np.testing.assert_array_equal(student.layers[1].predict(ROWS, verbose=0), mini.predict(ROWS, verbose=0))
