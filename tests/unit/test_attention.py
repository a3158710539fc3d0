"""Unit tests for course_utils.attention and course_utils.embeddings (chapter 4)."""
import keras
import numpy as np
import pytest

from course_utils.attention import (
    MultiHeadSelfAttention,
    TransformerEncoder,
    keras_mha_weights,
    scaled_dot_product_attention,
)
from course_utils.embeddings import PatchEmbedding, PositionalEmbedding, sinusoidal_positions


def _random_layer(h, d, x, seed=0, **kwargs):
    rng = np.random.default_rng(seed)
    layer = MultiHeadSelfAttention(h, d, **kwargs)
    layer(x)
    layer.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in layer.get_weights()])
    return layer


@pytest.mark.parametrize("shape", [(2, 5, 8, 2, 4), (3, 7, 12, 3, 5), (1, 2, 6, 1, 6)])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("causal", [False, True])
def test_matches_keras_mha(shape, masked, causal):
    b, t, dim, h, d = shape
    x = np.random.default_rng(1).normal(size=(b, t, dim)).astype("float32")
    ours = _random_layer(h, d, x, use_causal_mask=causal)
    ref = keras.layers.MultiHeadAttention(h, d)
    ref(x, x)
    ref.set_weights(keras_mha_weights(ours))
    mask = np.ones((b, t), bool)
    if masked:
        mask[0, (t + 1) // 2:] = False
        mask[0, 0] = True
    out, w = ours(x, mask=mask if masked else None, return_attention_scores=True)
    attn_mask = np.broadcast_to(mask[:, None, :], (b, t, t)) if masked else None
    ref_out, ref_w = ref(x, x, attention_mask=attn_mask, use_causal_mask=causal,
                         return_attention_scores=True)
    np.testing.assert_allclose(out, ref_out, atol=1e-5)
    np.testing.assert_allclose(w, ref_w, atol=1e-5)


def test_masked_keys_get_zero_weight_and_rows_sum_to_one():
    x = np.random.default_rng(2).normal(size=(2, 6, 8)).astype("float32")
    layer = _random_layer(2, 4, x)
    mask = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1]], bool)
    _, w = layer(x, mask=mask, return_attention_scores=True)
    w = np.asarray(w)
    assert np.all(w[0, :, :, 3:] == 0.0)
    np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-6)


def test_fully_masked_query_is_zero_not_nan():
    q = np.ones((1, 2, 4), "float32")
    mask = np.array([[[True, False], [False, False]]])
    out, w = scaled_dot_product_attention(q, q, q, mask=mask)
    assert not np.isnan(np.asarray(out)).any()
    np.testing.assert_array_equal(np.asarray(w)[0, 1], [0.0, 0.0])
    np.testing.assert_array_equal(np.asarray(out)[0, 1], 0.0)


def test_causal_mask_hides_the_future():
    x = np.random.default_rng(3).normal(size=(1, 5, 8)).astype("float32")
    layer = _random_layer(2, 4, x, use_causal_mask=True)
    _, w = layer(x, return_attention_scores=True)
    assert np.all(np.triu(np.asarray(w)[0, 0], k=1) == 0.0)
    # changing the last token does not change earlier outputs
    x2 = x.copy()
    x2[0, -1] += 5.0
    np.testing.assert_allclose(layer(x)[:, :-1], layer(x2)[:, :-1], atol=1e-6)


def test_permutation_equivariance_without_positions():
    x = np.random.default_rng(4).normal(size=(2, 6, 8)).astype("float32")
    enc = TransformerEncoder(2, 4, 16)
    perm = np.random.default_rng(5).permutation(6)
    np.testing.assert_allclose(np.asarray(enc(x))[:, perm], enc(x[:, perm]), atol=1e-5)


def test_embedding_mask_propagates():
    emb, enc = PositionalEmbedding(20, 8, 8), TransformerEncoder(2, 4, 16)
    inp = keras.Input((6,), dtype="int32")
    model = keras.Model(inp, enc(emb(inp)))  # the mask travels as a Keras mask
    padded = np.array([[5, 6, 7, 0, 0, 0]])
    # real tokens ignore the padding: same result as the unpadded 3-token input
    np.testing.assert_allclose(np.asarray(model(padded))[0, :3],
                               np.asarray(enc(emb(padded[:, :3])))[0], atol=1e-5)


def test_sinusoidal_table():
    table = sinusoidal_positions(4, 6)
    assert table.shape == (4, 6)
    np.testing.assert_allclose(table[0], [0, 1, 0, 1, 0, 1])
    np.testing.assert_allclose(table[1, 0], np.sin(1.0), rtol=1e-6)
    emb = PositionalEmbedding(10, 4, 6, sinusoidal=True)
    emb(np.ones((1, 4), "int32"))
    assert len(emb.trainable_weights) == 1  # only the token table


def test_bert_layout_post_ln_gelu():
    x = np.random.default_rng(6).normal(size=(2, 4, 8)).astype("float32")
    enc = TransformerEncoder(2, 4, 16, norm_first=False, activation="gelu",
                             layer_norm_epsilon=1e-12)
    y = np.asarray(enc(x))
    np.testing.assert_allclose(y.mean(-1), 0.0, atol=1e-5)  # ends with a LayerNorm
    names = {w.path.split("/", 1)[1] for w in enc.weights}
    assert "attention/query_kernel" in names and "ffn_inner/kernel" in names
    z = np.linspace(-3, 3, 7).astype("float32")
    from math import erf, sqrt
    exact = np.array([v * 0.5 * (1 + erf(v / sqrt(2))) for v in z])
    np.testing.assert_allclose(enc.ffn_inner.activation(z), exact, atol=1e-6)


def test_save_and_reload_safe_mode(tmp_path):
    inp = keras.Input((28, 28, 1))
    h = PatchEmbedding(7, 8)(inp)
    h = TransformerEncoder(2, 4, 16, dropout=0.1)(h)
    out = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling1D()(h))
    m1 = keras.Model(inp, out)
    ids = keras.Input((5,), dtype="int32")
    g = PositionalEmbedding(30, 5, 8, sinusoidal=True)(ids)
    g = MultiHeadSelfAttention(2, 4, use_causal_mask=True)(g)
    m2 = keras.Model(ids, g)
    for model, x in [(m1, np.random.default_rng(0).random((2, 28, 28, 1), "float32")),
                     (m2, np.array([[1, 2, 3, 0, 0]]))]:
        path = tmp_path / "m.keras"
        model.save(path)
        again = keras.models.load_model(path, safe_mode=True)
        np.testing.assert_allclose(model(x), again(x), atol=1e-6)


@pytest.mark.parametrize("make", [
    lambda: MultiHeadSelfAttention(0, 4),
    lambda: MultiHeadSelfAttention(2, -1),
    lambda: MultiHeadSelfAttention(2, 2.5),
    lambda: MultiHeadSelfAttention(2, 4, dropout=1.0),
    lambda: TransformerEncoder(2, 4, 0),
    lambda: PositionalEmbedding(0, 4, 8),
    lambda: PatchEmbedding(0, 8),
])
def test_bad_sizes(make):
    with pytest.raises(ValueError, match="must"):
        make()


def test_activation_and_initializers_resolved_by_keras():
    block = TransformerEncoder(2, 4, 8, activation="tanh", kernel_initializer="he_normal")
    assert block.activation is keras.activations.tanh
    assert isinstance(block.kernel_initializer, keras.initializers.HeNormal)
    # unknown names: Keras' own error, never a silent default
    with pytest.raises(ValueError, match="activation function identifier: nope"):
        TransformerEncoder(2, 4, 8, activation="nope")
    with pytest.raises(ValueError, match="initializer identifier: nope"):
        MultiHeadSelfAttention(2, 4, kernel_initializer="nope")
    with pytest.raises(ValueError, match="initializer identifier: nope"):
        PositionalEmbedding(10, 4, 8, embeddings_initializer="nope")


def test_seeded_initializer_gives_each_weight_its_own_values():
    layer = MultiHeadSelfAttention(2, 4, kernel_initializer=keras.initializers.GlorotUniform(seed=3))
    layer(np.zeros((1, 3, 8), "float32"))
    q, k, v = (np.asarray(w) for w in (layer.query_kernel, layer.key_kernel, layer.value_kernel))
    assert not np.allclose(q, k) and not np.allclose(k, v)
    again = MultiHeadSelfAttention(2, 4, kernel_initializer=keras.initializers.GlorotUniform(seed=3))
    again(np.zeros((1, 3, 8), "float32"))
    np.testing.assert_array_equal(q, again.query_kernel)   # and the same seed gives the same layer


def test_dtype_policy_reaches_sublayers():
    block = TransformerEncoder(2, 4, 8, dtype="mixed_float16")
    y = block(np.ones((1, 3, 8), "float32"))
    assert keras.backend.standardize_dtype(y.dtype) == "float16"
    assert not np.isnan(np.asarray(y, "float32")).any()
    assert all(layer.dtype_policy.name == "mixed_float16"
               for layer in (block.attention, block.ffn_inner, block.ffn_outer, block.attention_norm))
    assert block.attention.query_kernel.dtype == "float32"   # variables stay float32 under mixed precision


def test_masked_softmax_is_the_one_copy():
    from course_utils.attention import masked_softmax

    scores = np.array([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]], "float32")
    mask = np.array([[True, True, False], [False, False, False]])
    w = np.asarray(masked_softmax(scores, mask))
    np.testing.assert_allclose(w[0], [np.exp(-1) / (1 + np.exp(-1)), 1 / (1 + np.exp(-1)), 0.0], rtol=1e-6)
    np.testing.assert_array_equal(w[1], 0.0)
    half = np.asarray(masked_softmax(scores.astype("float16"), mask))
    assert not np.isnan(half).any()


def test_bad_input_rank():
    with pytest.raises(ValueError, match="rank 3"):
        MultiHeadSelfAttention(2, 4)(np.zeros((2, 8), "float32"))
    with pytest.raises(ValueError, match="rank 3"):
        TransformerEncoder(2, 4, 8)(np.zeros((2, 3, 4, 8), "float32"))


def test_bad_mask_shape():
    layer = MultiHeadSelfAttention(2, 4)
    x = np.zeros((2, 5, 8), "float32")
    with pytest.raises(ValueError, match=r"mask must have shape \(batch, 5\)"):
        layer(x, mask=np.ones((2, 4), bool))
    with pytest.raises(ValueError, match="mask must have shape"):
        layer(x, mask=np.ones((2, 5, 5), bool))


def test_patches_not_divisible_and_too_long_sequence():
    with pytest.raises(ValueError, match="divisible"):
        PatchEmbedding(5, 8)(np.zeros((1, 28, 28, 1), "float32"))
    with pytest.raises(ValueError, match="exceeds max_length"):
        PositionalEmbedding(10, 4, 8)(np.ones((1, 6), "int32"))
