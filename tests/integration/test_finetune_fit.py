"""Integration tests for course_utils.finetune (chapter 6): real fits of tiny models (seconds each)."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils import bert, finetune  # noqa: E402
from tests.finetune_helpers import TINY, _MaskedRows, _padded_rows  # noqa: E402


def test_fine_tune_learns_and_takes_callbacks():
    rng = np.random.default_rng(0)
    X = rng.integers(1, 10, size=(96, 6)).astype("int32")
    y = (X == 1).any(axis=1).astype("int32")              # learnable: does token 1 occur?
    model = keras.Sequential([keras.Input((6,), dtype="int32"), keras.layers.Embedding(10, 8),
                              keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(2)])
    seen = []
    log = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(e))
    history, speed = finetune.fine_tune(model, X, y, X, y, epochs=3, peak_lr=5e-2, batch_size=16, patience=3,
                                        callbacks=[log])
    assert seen == [0, 1, 2] and len(history.history["val_accuracy"]) == 3
    assert isinstance(model.optimizer, keras.optimizers.AdamW) and speed > 0
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_keras_hub_task_on_length_batches():
    import keras_hub

    backbone = keras_hub.models.BertBackbone(vocabulary_size=60, num_layers=1, num_heads=2, hidden_dim=8,
                                             intermediate_dim=16, max_sequence_length=12, dropout=0.0)
    clf = keras_hub.models.BertTextClassifier(backbone, num_classes=2, preprocessor=None, dropout=0.0)
    x = _padded_rows(24, 12, seed=2)
    padded = clf.predict({"token_ids": x, "segment_ids": np.zeros_like(x), "padding_mask": x != 0}, verbose=0)
    np.testing.assert_allclose(finetune.predict_logits(clf, x, batch_size=8), padded, atol=1e-5)
    y = (x[:, 1] % 2).astype("int32")
    history, speed = finetune.fine_tune(clf, x, y, x, y, epochs=2, peak_lr=1e-2, batch_size=8,
                                    group_by_length=True)
    assert len(history.history["val_accuracy"]) >= 1 and speed > 0
    with pytest.raises(ValueError, match="group_by_length=True"):   # arrays would be batched in order
        finetune.fine_tune(clf, x, y, x, y, epochs=1, peak_lr=1e-2)


def test_fine_tune_group_by_length_learns():
    keras.utils.set_random_seed(0)
    x = _padded_rows(96, 10, seed=3)
    y = (x == 5).any(axis=1).astype("int32")              # learnable: does token 5 occur?
    model = bert.build_classifier(bert.build_bert(**TINY, dropout=0.0))
    history, speed = finetune.fine_tune(model, x, y, x, y, epochs=4, peak_lr=1e-2, batch_size=16, patience=4,
                                    group_by_length=True)
    assert len(history.history["loss"]) == 4 and speed > 0
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_batches_as_dataset_feeds_varying_widths_to_fit():
    x = _padded_rows(64, 12, seed=4)
    batches = _MaskedRows(x, max_predictions=3)
    widths = {batches[i][0][0].shape[1] for i in range(len(batches))}
    assert len(widths) > 1                       # the case Keras' own PyDataset reader fixes wrongly
    ds = finetune.batches_as_dataset(batches)
    (ids_spec, positions_spec), _, _ = ds.element_spec
    assert ids_spec.shape.as_list() == [None, None] and positions_spec.dtype.name == "int32"
    assert int(ds.cardinality()) == len(batches)
    mlm = bert.build_mlm(bert.build_bert(**TINY, dropout=0.0), max_predictions=3)
    mlm.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = mlm.fit(ds, epochs=2, verbose=0, shuffle=False)
    assert len(history.history["loss"]) == 2 and batches.passes == 1   # a new masking for epoch 2


def test_length_batches_pipeline_reshuffles_every_epoch_of_fit():
    x = _padded_rows(64, 10, seed=5)
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(batches.order.copy())    # the row order the epoch was drawn from

    batches = finetune.LengthBatches(x, (x[:, 1] % 2).astype("int32"), batch_size=8, seed=0)
    model = bert.build_classifier(bert.build_bert(**TINY, dropout=0.0))
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(batches.as_tf_dataset(), epochs=3, verbose=0, callbacks=[Spy()], shuffle=False)
    assert [o.tolist() != seen[0].tolist() for o in seen[1:]] == [True, True]


def test_fine_tune_runs_short_fits_eagerly_with_the_same_arithmetic():
    rng = np.random.default_rng(1)
    X = rng.integers(1, 10, size=(48, 6)).astype("int32")
    y = (X == 1).any(axis=1).astype("int32")

    def fit(epochs, **kw):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((6,), dtype="int32"), keras.layers.Embedding(10, 8),
                                  keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(2)])
        finetune.fine_tune(model, X, y, X, y, epochs=epochs, peak_lr=5e-2, batch_size=16, patience=epochs,
                           **kw)
        return model

    assert fit(2).run_eagerly                                       # 6 steps <= EAGER_STEPS
    assert not fit(finetune.EAGER_STEPS // 3 + 1).run_eagerly       # 3 steps an epoch, one epoch too many
    eager, graph = fit(2), fit(2, run_eagerly=False)
    assert not graph.run_eagerly
    for a, b in zip(eager.get_weights(), graph.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
