"""Every public Keras layer and model builder of course_utils survives a round trip.

For each case: ``from_config(get_config())`` (weights copied) and a ``.keras`` file reloaded with
``keras.saving.load_model(..., safe_mode=True)`` give the same outputs, and a padding mask that the
original propagates to its output survives both. ``test_every_public_layer_is_covered`` fails when a new
layer is added to the package without a case here.
"""
import inspect

import keras
import numpy as np
import pytest

from course_utils import attention, augmentation, bert, distill, embeddings, finetune, pretraining, vae

MODULES = (attention, augmentation, bert, distill, embeddings, finetune, pretraining, vae)
IDS = np.array([[2, 5, 7, 3, 0, 0], [4, 4, 9, 1, 6, 3]], "int32")   # row 0 is padded
IMAGES = np.random.default_rng(0).random((2, 28, 28, 1)).astype("float32")
POSITIONS = np.array([[1, 2], [0, 5]], "int32")
HIDDEN = np.random.default_rng(1).normal(size=(2, 6, 8)).astype("float32")
SAMPLING_IN = [HIDDEN[:, 0], np.full((2, 8), -1e4, "float32")]   # log_var -> -inf: the sample is the mean


def _functional(layer, *arrays, as_list=False):
    inputs = [keras.Input(a.shape[1:], dtype=str(a.dtype)) for a in arrays]
    if len(inputs) == 1:
        return keras.Model(inputs[0], layer(inputs[0]))
    return keras.Model(inputs, layer(inputs) if as_list else layer(*inputs))


def _masked(layer):
    """ids → PositionalEmbedding (mask_zero) → layer: the layer gets a padding mask."""
    ids = keras.Input((IDS.shape[1],), dtype="int32")
    return keras.Model(ids, layer(embeddings.PositionalEmbedding(12, 6, 8)(ids)))


def _seeded(seed):
    return keras.initializers.GlorotUniform(seed=seed)


# name -> () -> (layer or model, inputs, padding mask expected on the output?)
CASES = {
    "MultiHeadSelfAttention": lambda: (attention.MultiHeadSelfAttention(2, 4, kernel_initializer=_seeded(1)),
                                       HIDDEN, False),
    "MultiHeadSelfAttention/masked": lambda: (
        _masked(attention.MultiHeadSelfAttention(2, 4, use_causal_mask=True)), IDS, True),
    "TransformerEncoder": lambda: (attention.TransformerEncoder(2, 4, 16, activation="gelu", norm_first=False,
                                                                bias_initializer="ones"), HIDDEN, False),
    "TransformerEncoder/masked": lambda: (
        _masked(attention.TransformerEncoder(2, 4, 16, dropout=0.1)), IDS, True),
    "PositionalEmbedding/sinusoidal": lambda: (
        embeddings.PositionalEmbedding(12, 6, 8, sinusoidal=True), IDS, True),
    "PatchEmbedding": lambda: (
        embeddings.PatchEmbedding(7, 8, embeddings_initializer="he_uniform"), IMAGES, False),
    "BertEmbedding": lambda: (bert.BertEmbedding(12, 6, 8), IDS, True),
    "MaskedMeanPool": lambda: (_masked(bert.MaskedMeanPool()), IDS, False),
    "GatherPositions": lambda: (
        _functional(bert.GatherPositions(), HIDDEN, POSITIONS), [HIDDEN, POSITIONS], False),
    "RandomShift": lambda: (augmentation.RandomShift(2, seed=1), IMAGES, False),
    "Sampling": lambda: (_functional(vae.Sampling(seed=0), *SAMPLING_IN, as_list=True), SAMPLING_IN, False),
    "build_bert": lambda: (bert.build_bert(12, 2, 2, 8, 16, 6, seed=0), IDS, True),
    "build_bert/pre_ln": lambda: (bert.build_bert(12, 2, 2, 8, 16, 6, seed=0, norm_first=True), IDS, True),
    "build_bert/gelu_tanh": lambda: (bert.build_bert(12, 1, 2, 8, 16, 6, gelu_approximate=True), IDS, True),
    "build_mlm": lambda: (bert.build_mlm(bert.build_bert(12, 1, 2, 8, 16, 6), 2),
                          [IDS, POSITIONS], False),
    "build_classifier": lambda: (bert.build_classifier(bert.build_bert(12, 1, 2, 8, 16, 6)), IDS, False),
    "build_student": lambda: (distill.build_student(12, num_layers=1, num_heads=2, hidden_dim=8, ff_dim=16,
                                                    max_length=6), IDS, False),
    "build_masked_word_model": lambda: (pretraining.build_masked_word_model(12, 8, seed=0), IDS, False),
    "VAE": lambda: (vae.VAE(latent_dim=2, hidden_units=(16,), seed=0), IMAGES[..., 0], False),
}


def _apply(obj, x):
    if isinstance(obj, vae.VAE):   # its call samples: compare the deterministic parts
        mean, log_var = obj.encode(x)
        return [mean, log_var, obj.decode(mean)]
    out = obj(x, training=False)
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _mask(out):
    mask = getattr(out, "_keras_mask", None)
    return None if mask is None else np.asarray(mask)


def _same(a, b):
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-6, atol=1e-6)
        ma, mb = _mask(x), _mask(y)
        assert (ma is None) == (mb is None)
        if ma is not None:
            np.testing.assert_array_equal(ma, mb)


@pytest.mark.parametrize("name", sorted(CASES))
def test_round_trip(name, tmp_path):
    obj, x, masked = CASES[name]()
    out = _apply(obj, x)
    if masked:
        np.testing.assert_array_equal(_mask(out[0]), IDS != 0)

    clone = type(obj).from_config(obj.get_config())
    _apply(clone, x)                                  # build it
    clone.set_weights(obj.get_weights())
    _same(out, _apply(clone, x))

    model = obj if isinstance(obj, keras.Model) else _functional(obj, *(x if isinstance(x, list) else [x]))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    _same(_apply(model, x) if model is not obj else out, _apply(loaded, x))


def _public_layer_classes():
    found = set()
    for module in MODULES:
        for name, cls in vars(module).items():
            if (inspect.isclass(cls) and issubclass(cls, keras.layers.Layer) and not name.startswith("_")
                    and cls.__module__ == module.__name__):
                found.add(cls)
    return found


def _layers_in(obj):
    out = {type(obj)}
    for layer in getattr(obj, "_flatten_layers", lambda **kw: [])(include_self=False, recursive=True):
        out.add(type(layer))
    return out


def test_every_public_layer_is_covered():
    covered = set()
    for make in CASES.values():
        covered |= _layers_in(make()[0])
    missing = {c.__name__ for c in _public_layer_classes()} - {c.__name__ for c in covered}
    assert not missing, f"add a round-trip case for {sorted(missing)}"
    builders = {f"{name}" for module in MODULES for name, f in vars(module).items()
                if name.startswith("build_") and inspect.isfunction(f) and f.__module__ == module.__name__}
    assert builders <= {name.split("/")[0] for name in CASES}, builders


def test_tied_head_loads_tied_and_a_missing_embedding_is_named():
    mlm = bert.build_mlm(bert.build_bert(12, 1, 2, 8, 16, 6), 2)
    config = mlm.get_config()
    again = bert.MaskedLM.from_config(config)
    assert again.head.embedding is again.encoder.get_layer("embedding")
    with pytest.raises(ValueError, match="embedding layer 'word_table'"):
        bert.MaskedLM.from_config({**config, "embedding_name": "word_table"})
    with pytest.raises(ValueError, match="not tied to its embedding layer 'embedding'"):
        bert.MLMHead.from_config(mlm.head.get_config())(HIDDEN)
