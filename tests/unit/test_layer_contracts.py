"""Every public Keras layer, model and ``build_*`` builder of course_utils states what it produces.

In the style of KerasHub's layer tests: each case gives a small input and *hard-coded* expectations -- the
output shape(s), the number of trainable and non-trainable weights, the number of random-seed states (a
``SeedGenerator`` is a non-trainable *variable* but not a weight: KerasHub's
``expected_num_non_trainable_variables``) and the parameter count, derived in a comment. Each case is run
twice on fresh objects, once on symbolic ``keras.KerasTensor`` inputs and once eagerly, and both must
match. A change of architecture (a missing bias, an extra LayerNorm, a dropout that lost its rate) shows
up here as a changed number. ``test_every_public_layer_and_builder_has_a_contract`` fails when a new
layer, model or builder is added to the package without a case here.

Sizes used throughout: batch 2, sequence 6, width 8 (2 heads of 4), feed-forward 16, vocabulary 12.
"""
import importlib
import inspect
import pkgutil

import keras
import numpy as np
import pytest

import course_utils
from course_utils import attention, augmentation, bert, distill, embeddings, pretraining, vae

IDS = np.array([[2, 5, 7, 3, 0, 0], [4, 4, 9, 1, 6, 3]], "int32")      # (2, 6), row 0 padded
HIDDEN = np.random.default_rng(0).normal(size=(2, 6, 8)).astype("float32")
POSITIONS = np.array([[1, 2], [0, 5]], "int32")                       # (2, 2)
IMAGES = np.random.default_rng(1).random((2, 8, 8, 1)).astype("float32")
LATENT = [np.zeros((2, 2), "float32"), np.zeros((2, 2), "float32")]   # [mean, log_var]

# parameter counts of the pieces that recur below (width 8, 2 heads x 4, ff 16, vocabulary 12, length 6)
MHSA_PARAMS = 4 * (8 * 8 + 8)                                  # Q, K, V, O: kernel + bias = 288
BLOCK_PARAMS = MHSA_PARAMS + 2 * (8 + 8) + (8 * 16 + 16) + (16 * 8 + 8)   # + 2 LayerNorms + FFN = 600
BERT_EMBEDDING_PARAMS = (12 + 6 + 2) * 8 + (8 + 8)             # word, position, segment tables + LN = 176
MLM_HEAD_PARAMS = (8 * 8 + 8) + (8 + 8) + 12                   # dense + LN + per-word bias = 100


def _symbolic(x):
    if isinstance(x, list):
        return [_symbolic(a) for a in x]
    return keras.KerasTensor(x.shape, dtype=str(x.dtype))


def _shapes(out):
    if isinstance(out, (list, tuple)):
        return [tuple(o.shape) for o in out]
    return tuple(out.shape)


def _counts(layer):
    return (len(layer.trainable_weights), len(layer.non_trainable_weights),
            len(layer.non_trainable_variables) - len(layer.non_trainable_weights))


def check_layer(make, args, expected_shape, trainable, non_trainable=0, seed_states=0, params=None,
                modes=("symbolic", "eager"), **call_kwargs):
    """Call a fresh ``make()`` on symbolic, then another on eager ``args`` (a tuple of positional call
    arguments; a list inside it is one list argument) and check what it produces.

    ``expected_shape`` is a tuple, or a list of tuples for a layer with several outputs; ``trainable`` and
    ``non_trainable`` count weight variables, ``seed_states`` the random-seed variables, ``params`` the
    scalars in all weights (``count_params``)."""
    for mode in modes:
        layer = make()
        inputs = tuple(_symbolic(a) for a in args) if mode == "symbolic" else args
        out = layer(*inputs, **call_kwargs)
        assert _shapes(out) == expected_shape, f"{mode} output shape"
        assert layer.built, mode
        assert _counts(layer) == (trainable, non_trainable, seed_states), \
            f"{mode}: (trainable, non-trainable weights, seed states)"
        for o in out if isinstance(out, (list, tuple)) else [out]:
            assert keras.backend.standardize_dtype(o.dtype) == "float32", f"{mode} output dtype"
    if params is not None:
        assert layer.count_params() == params
    return layer


def _bert(num_layers=1, **kwargs):
    return bert.build_bert(12, num_layers, 2, 8, 16, 6, seed=0, **kwargs)


def _head():
    embedding = bert.BertEmbedding(12, 6, 8, name="embedding")
    embedding.build((None, 6))
    return bert.MLMHead(embedding)


def _frozen_classifier():
    encoder = _bert(0)                                           # no blocks: the embedding is the encoder
    encoder.trainable = False
    return bert.build_classifier(encoder)


# name ("Class" or "build_function", then "/variant") -> check_layer's arguments after ``make``
CASES = {
    "MultiHeadSelfAttention": dict(
        make=lambda: attention.MultiHeadSelfAttention(2, 4), args=(HIDDEN,), expected_shape=(2, 6, 8),
        trainable=8, params=MHSA_PARAMS),                       # 4 kernels + 4 biases; dropout 0: no seed
    "MultiHeadSelfAttention/scores": dict(
        make=lambda: attention.MultiHeadSelfAttention(2, 4, dropout=0.1, use_causal_mask=True),
        args=(HIDDEN,), return_attention_scores=True, expected_shape=[(2, 6, 8), (2, 2, 6, 6)],
        trainable=8, seed_states=1, params=MHSA_PARAMS),         # (batch, heads, query, key) weights
    "TransformerEncoder": dict(
        make=lambda: attention.TransformerEncoder(2, 4, 16), args=(HIDDEN,), expected_shape=(2, 6, 8),
        trainable=16, params=BLOCK_PARAMS),                      # attention 8 + 2 LayerNorms 4 + 2 Dense 4
    "TransformerEncoder/post_ln_scores": dict(
        make=lambda: attention.TransformerEncoder(2, 4, 16, dropout=0.1, norm_first=False),
        args=(HIDDEN,), return_attention_scores=True, expected_shape=[(2, 6, 8), (2, 2, 6, 6)],
        trainable=16, seed_states=3, params=BLOCK_PARAMS),       # attention weights, both residual dropouts
    "PositionalEmbedding": dict(
        make=lambda: embeddings.PositionalEmbedding(12, 6, 8), args=(IDS,), expected_shape=(2, 6, 8),
        trainable=2, params=12 * 8 + 6 * 8),                     # token table + learned position table
    "PositionalEmbedding/sinusoidal": dict(
        make=lambda: embeddings.PositionalEmbedding(12, 6, 8, sinusoidal=True), args=(IDS,),
        expected_shape=(2, 6, 8), trainable=1, params=12 * 8),   # the sin/cos table is a constant
    "PatchEmbedding": dict(
        make=lambda: embeddings.PatchEmbedding(4, 8), args=(IMAGES,), expected_shape=(2, 4, 8),
        trainable=3, params=(4 * 4 * 1 * 8 + 8) + 4 * 8),        # (8/4)^2 = 4 patches; conv + positions
    "BertEmbedding": dict(
        make=lambda: bert.BertEmbedding(12, 6, 8), args=(IDS,), expected_shape=(2, 6, 8),
        trainable=5, seed_states=1, params=BERT_EMBEDDING_PARAMS),   # 3 tables + LN gamma, beta; dropout
    "MaskedMeanPool": dict(
        make=bert.MaskedMeanPool, args=(HIDDEN,), expected_shape=(2, 8), trainable=0, params=0),
    "MLMHead": dict(
        make=_head, args=(HIDDEN,), expected_shape=(2, 6, 12),   # logits over the 12 words
        trainable=5, params=MLM_HEAD_PARAMS),                    # the tied word table is not its weight
    "GatherPositions": dict(
        make=bert.GatherPositions, args=(HIDDEN, POSITIONS), expected_shape=(2, 2, 8), trainable=0,
        params=0),
    "MaskedLM": dict(
        make=lambda: bert.MaskedLM(_bert(0), 2), args=([IDS, POSITIONS],), expected_shape=(2, 2, 12),
        trainable=5 + 5, seed_states=1,                          # embedding (no blocks) + head
        params=BERT_EMBEDDING_PARAMS + MLM_HEAD_PARAMS),
    "RandomShift": dict(
        make=lambda: augmentation.RandomShift(2, seed=1), args=(IMAGES,), training=True,
        expected_shape=(2, 8, 8, 1), trainable=0, seed_states=1, params=0),
    "Sampling": dict(
        make=lambda: vae.Sampling(seed=0), args=(LATENT,), expected_shape=(2, 2), trainable=0,
        seed_states=1, params=0),
    "VAE": dict(
        make=lambda: vae.VAE(latent_dim=2, hidden_units=(8,), image_shape=(4, 4), seed=0),
        args=(IMAGES[:, :4, :4, 0],), expected_shape=(2, 4, 4), trainable=8,
        seed_states=2,                                           # sampling + dynamic binarization
        params=(16 * 8 + 8) + (8 * 4 + 4) + (2 * 8 + 8) + (8 * 16 + 16)),   # 2 encoder + 2 decoder Dense
    "build_bert": dict(
        make=lambda: _bert(2), args=(IDS,), expected_shape=(2, 6, 8), trainable=5 + 2 * 16,
        seed_states=1 + 2 * 3,                                   # embedding dropout + 3 per block
        params=BERT_EMBEDDING_PARAMS + 2 * BLOCK_PARAMS),
    "build_bert/pre_ln": dict(
        make=lambda: _bert(norm_first=True), args=(IDS,), expected_shape=(2, 6, 8),
        trainable=5 + 16 + 2, seed_states=1 + 3,                 # one block, + final_norm
        params=BERT_EMBEDDING_PARAMS + BLOCK_PARAMS + (8 + 8)),
    "build_mlm": dict(
        make=lambda: bert.build_mlm(_bert(), 2), args=([IDS, POSITIONS],), expected_shape=(2, 2, 12),
        trainable=5 + 16 + 5, seed_states=1 + 3,                 # embedding + 1 block + head
        params=BERT_EMBEDDING_PARAMS + BLOCK_PARAMS + MLM_HEAD_PARAMS),
    "build_classifier": dict(
        make=lambda: bert.build_classifier(_bert()), args=(IDS,), expected_shape=(2, 2),
        trainable=21 + 2, seed_states=4 + 1,                     # + logits Dense; + its dropout
        params=BERT_EMBEDDING_PARAMS + BLOCK_PARAMS + (8 * 2 + 2)),
    "build_classifier/frozen_encoder": dict(
        make=_frozen_classifier, args=(IDS,), expected_shape=(2, 2), trainable=2,   # the logits Dense
        non_trainable=5, seed_states=2, params=BERT_EMBEDDING_PARAMS + (8 * 2 + 2)),  # frozen embedding
    "build_student": dict(
        make=lambda: distill.build_student(12, num_layers=1, num_heads=2, hidden_dim=8, ff_dim=16,
                                           max_length=6),
        args=(IDS,), expected_shape=(2, 2), trainable=5 + 16 + 2 + 2,   # pre-LN: + final_norm; + logits
        seed_states=1 + 3 + 1,                                   # embedding + block + classifier dropouts
        params=BERT_EMBEDDING_PARAMS + BLOCK_PARAMS + (8 + 8) + (8 * 2 + 2)),
    "build_masked_word_model": dict(
        make=lambda: pretraining.build_masked_word_model(12, 8, seed=0), args=(IDS,), expected_shape=(2, 12),
        trainable=3, params=12 * 8 + (8 * 12 + 12)),             # embedding table + logits kernel, bias
}


# Both attention layers return (outputs, scores) with return_attention_scores=True, on symbolic inputs too:
# they leave the output spec to Keras (which traces call), so that argument is honoured in a functional model.
SCORES_CASES = {"MultiHeadSelfAttention/scores", "TransformerEncoder/post_ln_scores"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_contract(name):
    made = check_layer(**CASES[name], modes=("symbolic", "eager"))
    subject = name.split("/")[0]
    if subject.startswith("build_"):
        assert isinstance(made, keras.Model), f"{subject} should return a keras.Model"
    else:
        assert type(made).__name__ == subject, f"case {name!r} makes a {type(made).__name__}"


@pytest.mark.parametrize("name", sorted(SCORES_CASES))
def test_symbolic_attention_scores(name):
    # in a functional model the scores are a second output (a compute_output_shape ignoring the flag lost it)
    check_layer(**CASES[name], modes=("symbolic",))


# public functions named build_* that do not build a Keras model
NOT_KERAS_BUILDERS = {"course_utils.results.build_dir"}   # the folder for build outputs


def _package_modules():
    names = [m.name for m in pkgutil.iter_modules(course_utils.__path__)]
    return [importlib.import_module(f"course_utils.{name}") for name in names]


def test_every_public_layer_and_builder_has_a_contract():
    classes, builders = set(), set()
    for module in _package_modules():
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isclass(obj) and issubclass(obj, keras.layers.Layer):
                classes.add(name)
            elif inspect.isfunction(obj) and name.startswith("build_"):
                builders.add(f"{module.__name__}.{name}")
    assert NOT_KERAS_BUILDERS <= builders, f"stale NOT_KERAS_BUILDERS: {NOT_KERAS_BUILDERS - builders}"
    covered = {name.split("/")[0] for name in CASES}
    missing = (classes | {b.rsplit(".", 1)[1] for b in builders - NOT_KERAS_BUILDERS}) - covered
    assert not missing, f"add a contract case for {sorted(missing)}"
