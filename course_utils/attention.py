"""Chapter 4 (self-attention): the attention layers the course builds on.

Chapter 4 derives these step by step; chapter 6 assembles a BERT from them.

* :func:`masked_softmax` -- the softmax over keys with a mask (one copy, used by everything below).
* :func:`scaled_dot_product_attention` -- softmax(Q K^T / sqrt(d_k)) V with masks.
* :class:`MultiHeadSelfAttention` -- multi-head self-attention with a plain,
  Dense-like weight layout (easy to fill from HuggingFace checkpoints).
* :class:`TransformerEncoder` -- one encoder block, pre- or post-LayerNorm.
* :func:`keras_mha_weights` -- our attention weights in the order and shapes of
  ``keras.layers.MultiHeadAttention`` (used to prove the two layers agree).

The embeddings that turn tokens or image patches into the sequence these layers read are in
:mod:`course_utils.embeddings`.

The layers follow the conventions (not the argument names: see :class:`TransformerEncoder`) of KerasHub's
``TransformerEncoder``: activations and initializers are given by name or object, resolved with
``keras.activations.get`` / ``keras.initializers.get`` (an unknown name raises Keras' ``ValueError``) and
written back into ``get_config`` with their ``serialize``; every sublayer gets the layer's dtype policy;
``from_config(get_config())`` rebuilds the same layer.

Mask convention: a padding mask has shape (batch, seq) and is True where the token
is real. Masked *keys* get exactly zero attention weight. A query whose keys are
all masked gets an all-zero weight row (so its attention output is the output
bias): it is defined and NaN-free, but that row sums to 0, not 1.
"""
import math

import keras
import numpy as np
from keras import ops

__all__ = [
    "clone_initializer",
    "masked_softmax",
    "scaled_dot_product_attention",
    "MultiHeadSelfAttention",
    "TransformerEncoder",
    "keras_mha_weights",
]


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _rate(name, value):
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return float(value)


def _check_rank3(name, shape):
    if len(shape) != 3:
        raise ValueError(
            f"{name} expects input of rank 3 (batch, seq, dim), got shape {tuple(shape)}"
        )


def _check_mask(mask, seq_len):
    """Padding masks must be (batch, seq) with seq matching the input."""
    if mask is None:
        return None
    if len(mask.shape) != 2:
        raise ValueError(
            f"mask must have shape (batch, seq) = (batch, {seq_len}), got {tuple(mask.shape)}"
        )
    if mask.shape[1] is not None and seq_len is not None and mask.shape[1] != seq_len:
        raise ValueError(
            f"mask must have shape (batch, {seq_len}) to match the sequence, "
            f"got {tuple(mask.shape)}"
        )
    return ops.cast(mask, "bool")


def clone_initializer(initializer, salt=0):
    """A fresh copy of a Keras initializer for one weight (KerasHub copies one for each sublayer too).

    A *seeded* initializer draws the same numbers at every call, so two weights of the same shape would
    start equal (for instance the query, key and value kernels). The copy's seed is therefore ``seed + salt``:
    give each weight of a layer its own ``salt``. Unseeded initializers draw a fresh seed per copy.
    (KerasHub's ``clone_initializer`` copies the config unchanged, seed included, and passes names through.)
    """
    initializer = keras.initializers.get(initializer)
    config = initializer.get_config()
    if isinstance(config.get("seed"), int):
        config["seed"] += salt
    return initializer.__class__.from_config(config)


def _large_negative(dtype):
    """A score that softmax turns into 0, finite in the scores' dtype (-1e9 overflows float16)."""
    return -6.0e4 if "float16" in str(dtype) else -1e9


def masked_softmax(scores, mask=None):
    """Softmax over the last axis where ``mask`` (broadcastable, True = may attend) allows.

    Masked entries get weight exactly 0. A row with every entry masked gets all zeros (not the uniform
    row that a plain softmax of equal scores would give): the ``* mask`` at the end does that.
    """
    if mask is None:
        return ops.softmax(scores, axis=-1)
    mask = ops.cast(mask, "bool")
    scores = ops.where(mask, scores, ops.cast(_large_negative(scores.dtype), scores.dtype))
    return ops.softmax(scores, axis=-1) * ops.cast(mask, scores.dtype)


def scaled_dot_product_attention(q, k, v, mask=None, dropout=None):
    """softmax(q k^T / sqrt(d_k)) v (Vaswani et al., 2017, eq. 1).

    Args:
        q: queries (..., T, d_k). k: keys (..., S, d_k). v: values (..., S, d_v).
        mask: optional, broadcastable to (..., T, S), True = may attend (see :func:`masked_softmax`).
        dropout: optional callable applied to the weights before they multiply ``v`` (a Dropout layer).

    Returns:
        ``(output (..., T, d_v), weights (..., T, S))``; the weights are those before dropout.

    Example:
        >>> q = np.ones((1, 2, 4), "float32")
        >>> out, w = scaled_dot_product_attention(q, q, q)   # w is 0.5 everywhere
    """
    d_k = q.shape[-1]
    scores = ops.matmul(q, ops.swapaxes(k, -1, -2)) / math.sqrt(d_k)
    weights = masked_softmax(scores, mask)
    dropped = weights if dropout is None else dropout(weights)
    return ops.matmul(dropped, v), weights


@keras.saving.register_keras_serializable(package="course")
class MultiHeadSelfAttention(keras.layers.Layer):
    """Multi-head self-attention: every position attends to every (unmasked) position.

    Args:
        num_heads: number of heads h.
        key_dim: size d_k of each head's queries/keys/values.
        dropout: dropout rate on the attention weights (training only).
        use_causal_mask: if True, position i may only attend to positions <= i.
        kernel_initializer: initializer (name, config or object) of the four kernels.
        bias_initializer: initializer of the four biases.
        **kwargs: ``name``, ``dtype`` and the other arguments of ``keras.layers.Layer``.

    Weights (created in ``build`` for input dim D; H = num_heads * key_dim):
        ``query_kernel (D, H)``, ``query_bias (H,)``, same for ``key_*`` and
        ``value_*``; ``output_kernel (H, D)``, ``output_bias (D,)``. Head j uses
        columns ``j*key_dim:(j+1)*key_dim`` -- the same layout as HuggingFace BERT
        (after transposing its (out, in) matrices).

    ``call(x, mask=None, return_attention_scores=False, training=None)`` with x
    (batch, seq, D) and an optional (batch, seq) padding mask (a Keras mask from
    ``Embedding(mask_zero=True)`` arrives automatically). Returns (batch, seq, D),
    plus weights (batch, num_heads, seq, seq) if ``return_attention_scores``.
    The padding mask hides *keys*; padded queries still get an output (ignore it).

    Example:
        >>> layer = MultiHeadSelfAttention(num_heads=2, key_dim=4)
        >>> y = layer(np.zeros((1, 5, 8), "float32"))        # (1, 5, 8)

    References:
        Vaswani et al., "Attention Is All You Need", 2017.
    """

    def __init__(self, num_heads, key_dim, dropout=0.0, use_causal_mask=False,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.num_heads = _positive_int("num_heads", num_heads)
        self.key_dim = _positive_int("key_dim", key_dim)
        self.dropout = _rate("dropout", dropout)
        self.use_causal_mask = bool(use_causal_mask)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy,
                                                  name="attention_dropout")
        self.supports_masking = True

    def build(self, input_shape):
        _check_rank3("MultiHeadSelfAttention", input_shape)
        dim = input_shape[-1]
        if dim is None:
            raise ValueError("MultiHeadSelfAttention needs a known last dimension")
        inner = self.num_heads * self.key_dim
        shapes = {"query": ((dim, inner), (inner,)), "key": ((dim, inner), (inner,)),
                  "value": ((dim, inner), (inner,)), "output": ((inner, dim), (dim,))}
        for salt, (name, (kernel_shape, bias_shape)) in enumerate(shapes.items()):
            setattr(self, f"{name}_kernel", self.add_weight(
                name=f"{name}_kernel", shape=kernel_shape,
                initializer=clone_initializer(self.kernel_initializer, salt)))
            setattr(self, f"{name}_bias", self.add_weight(
                name=f"{name}_bias", shape=bias_shape,
                initializer=clone_initializer(self.bias_initializer, salt)))

    def _split_heads(self, x):
        # (B, T, h*d) -> (B, h, T, d)
        shape = ops.shape(x)
        x = ops.reshape(x, (shape[0], shape[1], self.num_heads, self.key_dim))
        return ops.transpose(x, (0, 2, 1, 3))

    def call(self, x, mask=None, return_attention_scores=False, training=None):
        _check_rank3("MultiHeadSelfAttention", x.shape)
        mask = _check_mask(mask, x.shape[1])
        q = self._split_heads(ops.matmul(x, self.query_kernel) + self.query_bias)
        k = self._split_heads(ops.matmul(x, self.key_kernel) + self.key_bias)
        v = self._split_heads(ops.matmul(x, self.value_kernel) + self.value_bias)

        attn_mask = None  # broadcastable to (B, h, T, S)
        if mask is not None:
            attn_mask = mask[:, None, None, :]
        if self.use_causal_mask:
            n = ops.shape(x)[1]
            causal = ops.greater_equal(ops.arange(n)[:, None], ops.arange(n)[None, :])
            causal = causal[None, None, :, :]
            attn_mask = causal if attn_mask is None else ops.logical_and(attn_mask, causal)

        heads, weights = scaled_dot_product_attention(
            q, k, v, attn_mask, dropout=lambda w: self.dropout_layer(w, training=training))
        heads = ops.transpose(heads, (0, 2, 1, 3))  # (B, T, h, d)
        shape = ops.shape(heads)
        heads = ops.reshape(heads, (shape[0], shape[1], self.num_heads * self.key_dim))
        out = ops.matmul(heads, self.output_kernel) + self.output_bias
        if return_attention_scores:
            return out, weights
        return out

    def compute_mask(self, x, mask=None):
        return mask

    def get_config(self):
        config = super().get_config()
        config.update(num_heads=self.num_heads, key_dim=self.key_dim, dropout=self.dropout,
                      use_causal_mask=self.use_causal_mask,
                      kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
                      bias_initializer=keras.initializers.serialize(self.bias_initializer))
        return config


def keras_mha_weights(layer):
    """Our layer's weights reshaped for ``keras.layers.MultiHeadAttention.set_weights``.

    Keras stores per-head kernels: query/key/value (D, h, d), biases (h, d),
    output (h, d, D), output bias (D,).
    """
    h, d = layer.num_heads, layer.key_dim
    dim = layer.output_bias.shape[0]
    out = []
    for name in ("query", "key", "value"):
        out.append(ops.convert_to_numpy(getattr(layer, f"{name}_kernel")).reshape(dim, h, d))
        out.append(ops.convert_to_numpy(getattr(layer, f"{name}_bias")).reshape(h, d))
    out.append(ops.convert_to_numpy(layer.output_kernel).reshape(h, d, dim))
    out.append(ops.convert_to_numpy(layer.output_bias))
    return out


@keras.saving.register_keras_serializable(package="course")
class TransformerEncoder(keras.layers.Layer):
    """One Transformer encoder block: self-attention sublayer + feed-forward sublayer,
    each wrapped in a residual connection and a LayerNorm.

    * ``norm_first=True`` (pre-LN, GPT-2/ViT style): x + Attn(LN(x)), then
      x + FFN(LN(x)). Gradients flow through the plain residual path, so it trains
      stably without learning-rate warm-up -- the default for from-scratch models.
    * ``norm_first=False`` (post-LN, original Transformer and BERT): LN(x + Attn(x)),
      then LN(x + FFN(x)). Use it (with ``activation="gelu"``, exact erf GELU, and
      ``layer_norm_epsilon=1e-12``) to load BERT checkpoints.

    Args:
        num_heads, key_dim: of the attention sublayer (:class:`MultiHeadSelfAttention`).
        ff_dim: width of the feed-forward sublayer's hidden layer.
        dropout: rate of every dropout (attention weights, both residual branches).
        norm_first: pre-LN (True) or post-LN (False), see above.
        activation: of the feed-forward hidden layer: a name (``"relu"``, ``"gelu"`` = exact erf GELU, ...),
            a config or a function, resolved with ``keras.activations.get``.
        layer_norm_epsilon: epsilon of both LayerNorms.
        use_causal_mask: each position attends to itself and earlier positions only.
        kernel_initializer, bias_initializer: of every kernel and bias in the block (each weight gets its
            own copy, see :func:`clone_initializer`).
        **kwargs: ``name``, ``dtype`` and the other arguments of ``keras.layers.Layer``.

    Sublayers (stable names): ``attention`` (:class:`MultiHeadSelfAttention`),
    ``attention_dropout`` (after the attention output), ``attention_norm``,
    ``ffn_inner`` (Dense ff_dim, activation), ``ffn_outer`` (Dense dim),
    ``ffn_dropout``, ``ffn_norm``. HuggingFace BERT names map as:
    attention.self.{query,key,value} -> attention.{query,key,value}_*,
    attention.output.dense -> attention.output_*, attention.output.LayerNorm ->
    attention_norm, intermediate.dense -> ffn_inner, output.dense -> ffn_outer,
    output.LayerNorm -> ffn_norm.

    ``call(x, mask=None, training=None, return_attention_scores=False)``; the
    padding mask propagates to the next layer.

    Compared with KerasHub's ``keras_hub.layers.TransformerEncoder`` (0.32): ``dropout`` (default 0, also on
    the attention weights), ``activation`` (default ``"relu"``), ``kernel_initializer`` (``"glorot_uniform"``)
    and ``bias_initializer`` (``"zeros"``) are the same and are resolved and serialized the same way.
    Different: ``ff_dim`` is KerasHub's ``intermediate_dim`` (its first argument there); ``key_dim`` is given
    (KerasHub uses width // num_heads); ``norm_first`` (default True, pre-LN) is KerasHub's
    ``normalize_first`` (default False, post-LN); ``layer_norm_epsilon`` defaults to 1e-6 (KerasHub: 1e-5);
    ``use_causal_mask`` has no KerasHub argument (it takes an ``attention_mask`` call argument instead); an
    explicit padding mask is ``mask`` (KerasHub: ``padding_mask``); sublayer and weight names differ; each
    copied initializer gets its own seed (:func:`clone_initializer`).

    Example:
        >>> block = TransformerEncoder(num_heads=2, key_dim=16, ff_dim=64, activation="gelu")
        >>> y = block(np.zeros((1, 10, 32), "float32"))      # (1, 10, 32)

    References:
        Vaswani et al., "Attention Is All You Need", 2017 (post-LN);
        Xiong et al., "On Layer Normalization in the Transformer Architecture", 2020 (pre-LN);
        KerasHub's ``keras_hub.layers.TransformerEncoder`` (its conventions; the arguments differ, see above).
    """

    def __init__(self, num_heads, key_dim, ff_dim, dropout=0.0, norm_first=True,
                 activation="relu", layer_norm_epsilon=1e-6, use_causal_mask=False,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.num_heads = _positive_int("num_heads", num_heads)
        self.key_dim = _positive_int("key_dim", key_dim)
        self.ff_dim = _positive_int("ff_dim", ff_dim)
        self.dropout = _rate("dropout", dropout)
        self.norm_first = bool(norm_first)
        self.activation = keras.activations.get(activation)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.use_causal_mask = bool(use_causal_mask)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.supports_masking = True
        policy = self.dtype_policy
        # the attention's four kernels use seed + 0..3 of a seeded initializer, the two FFN kernels + 4, 5
        self.attention = MultiHeadSelfAttention(
            num_heads, key_dim, dropout=dropout, use_causal_mask=use_causal_mask,
            kernel_initializer=clone_initializer(self.kernel_initializer),
            bias_initializer=clone_initializer(self.bias_initializer), dtype=policy, name="attention")
        self.attention_dropout = keras.layers.Dropout(self.dropout, dtype=policy, name="attention_dropout")
        self.attention_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=policy, name="attention_norm")
        self.ffn_dropout = keras.layers.Dropout(self.dropout, dtype=policy, name="ffn_dropout")
        self.ffn_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=policy, name="ffn_norm")

    def build(self, input_shape):
        _check_rank3("TransformerEncoder", input_shape)
        dim = input_shape[-1]
        self.ffn_inner = keras.layers.Dense(
            self.ff_dim, activation=self.activation,
            kernel_initializer=clone_initializer(self.kernel_initializer, 4),
            bias_initializer=clone_initializer(self.bias_initializer, 4), dtype=self.dtype_policy,
            name="ffn_inner")
        self.ffn_outer = keras.layers.Dense(
            dim, kernel_initializer=clone_initializer(self.kernel_initializer, 5),
            bias_initializer=clone_initializer(self.bias_initializer, 5), dtype=self.dtype_policy,
            name="ffn_outer")
        self.attention.build(input_shape)
        self.attention_norm.build(input_shape)
        self.ffn_norm.build(input_shape)
        self.ffn_inner.build(input_shape)
        self.ffn_outer.build(tuple(input_shape[:-1]) + (self.ff_dim,))

    def _ffn(self, x, training):
        return self.ffn_dropout(self.ffn_outer(self.ffn_inner(x)), training=training)

    def call(self, x, mask=None, training=None, return_attention_scores=False):
        _check_rank3("TransformerEncoder", x.shape)
        if self.norm_first:
            a, w = self.attention(self.attention_norm(x), mask=mask,
                                  return_attention_scores=True, training=training)
            x = x + self.attention_dropout(a, training=training)
            x = x + self._ffn(self.ffn_norm(x), training)
        else:
            a, w = self.attention(x, mask=mask, return_attention_scores=True, training=training)
            x = self.attention_norm(x + self.attention_dropout(a, training=training))
            x = self.ffn_norm(x + self._ffn(x, training))
        return (x, w) if return_attention_scores else x

    def compute_mask(self, x, mask=None):
        return mask

    def get_config(self):
        config = super().get_config()
        config.update(num_heads=self.num_heads, key_dim=self.key_dim, ff_dim=self.ff_dim,
                      dropout=self.dropout, norm_first=self.norm_first,
                      activation=keras.activations.serialize(self.activation),
                      layer_norm_epsilon=self.layer_norm_epsilon,
                      use_causal_mask=self.use_causal_mask,
                      kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
                      bias_initializer=keras.initializers.serialize(self.bias_initializer))
        return config
