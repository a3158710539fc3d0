"""Chapter 4 (self-attention): the embeddings that turn tokens or image patches into a sequence of vectors.

* :func:`sinusoidal_positions` -- the fixed position table of Vaswani et al. (2017).
* :class:`PositionalEmbedding` -- token embedding + learned or sinusoidal positions (written in view in
  chapter 4, section 8).
* :class:`PatchEmbedding` -- image -> sequence of patch vectors (+ positions), for a tiny ViT (written in
  view, as a Dense layer on flattened patches, in chapter 4, section 11).

They follow the same KerasHub conventions as :mod:`course_utils.attention` (initializers by name or object,
written back in a complete ``get_config``; sublayers with the layer's dtype policy).
"""
import keras
import numpy as np
from keras import ops

from .attention import _positive_int, clone_initializer

__all__ = ["sinusoidal_positions", "PositionalEmbedding", "PatchEmbedding"]


def sinusoidal_positions(length, dim):
    """The fixed table of Vaswani et al. (2017): sin on even, cos on odd features."""
    length, dim = _positive_int("length", length), _positive_int("dim", dim)
    pos = np.arange(length)[:, None]
    i = np.arange(dim)[None, :]
    angle = pos / np.power(10000.0, (2 * (i // 2)) / dim)
    return np.where(i % 2 == 0, np.sin(angle), np.cos(angle)).astype("float32")


@keras.saving.register_keras_serializable(package="course")
class PositionalEmbedding(keras.layers.Layer):
    """Token embedding + position embedding (learned, or fixed sinusoidal).

    Args:
        vocab_size: number of token ids.
        max_length: longest sequence the position table covers.
        dim: embedding size.
        sinusoidal: fixed sin/cos positions (Vaswani et al., 2017) instead of learned ones.
        mask_zero: id 0 is padding, and a Keras mask is propagated.
        embeddings_initializer: initializer of the token (and learned position) tables.
        **kwargs: ``name``, ``dtype`` and the other arguments of ``keras.layers.Layer``.

    Input: int token ids (batch, seq) with seq <= max_length; output (batch, seq, dim).
    Sublayers: ``token_embedding``; ``position_embedding`` (learned only).

    Example:
        >>> emb = PositionalEmbedding(vocab_size=100, max_length=16, dim=8)
        >>> h = emb(np.array([[5, 7, 0]]))        # (1, 3, 8); emb.compute_mask gives [[True, True, False]]
    """

    def __init__(self, vocab_size, max_length, dim, sinusoidal=False, mask_zero=True,
                 embeddings_initializer="uniform", **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = _positive_int("vocab_size", vocab_size)
        self.max_length = _positive_int("max_length", max_length)
        self.dim = _positive_int("dim", dim)
        self.sinusoidal = bool(sinusoidal)
        self.mask_zero = bool(mask_zero)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.token_embedding = keras.layers.Embedding(
            vocab_size, dim, embeddings_initializer=clone_initializer(self.embeddings_initializer, 0),
            dtype=self.dtype_policy, name="token_embedding")
        if self.sinusoidal:
            self.position_table = sinusoidal_positions(self.max_length, self.dim)
        else:
            self.position_embedding = keras.layers.Embedding(
                max_length, dim, embeddings_initializer=clone_initializer(self.embeddings_initializer, 1),
                dtype=self.dtype_policy, name="position_embedding")

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"PositionalEmbedding expects token ids of shape (batch, seq), "
                             f"got {tuple(input_shape)}")
        self.token_embedding.build(input_shape)
        if not self.sinusoidal:
            self.position_embedding.build((None,))

    def call(self, ids):
        seq_len = ids.shape[1]
        if seq_len is not None and seq_len > self.max_length:
            raise ValueError(f"sequence length {seq_len} exceeds max_length {self.max_length}")
        n = ops.shape(ids)[1]
        if self.sinusoidal:
            pos = ops.cast(ops.convert_to_tensor(self.position_table)[:n], self.compute_dtype)
        else:
            pos = self.position_embedding(ops.arange(n))
        return self.token_embedding(ids) + pos[None, :, :]

    def compute_mask(self, ids, mask=None):
        if not self.mask_zero:
            return None
        return ops.not_equal(ids, 0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.dim,)

    def get_config(self):
        config = super().get_config()
        config.update(vocab_size=self.vocab_size, max_length=self.max_length, dim=self.dim,
                      sinusoidal=self.sinusoidal, mask_zero=self.mask_zero,
                      embeddings_initializer=keras.initializers.serialize(self.embeddings_initializer))
        return config


@keras.saving.register_keras_serializable(package="course")
class PatchEmbedding(keras.layers.Layer):
    """Image (batch, H, W, C) -> (batch, num_patches, dim): non-overlapping patches, a linear projection
    and a learned position embedding (the input layer of a Vision Transformer).

    Args:
        patch_size: side of the square patches; H and W must be multiples of it.
        dim: size of each patch vector.
        kernel_initializer, bias_initializer: of the projection (``projection``, a strided Conv2D,
            which is the same as a Dense layer applied to each flattened patch).
        embeddings_initializer: of the position table ``position_embedding``; default
            ``RandomNormal(stddev=0.02)`` as in ViT.
        **kwargs: ``name``, ``dtype`` and the other arguments of ``keras.layers.Layer``.

    Example:
        >>> patches = PatchEmbedding(patch_size=7, dim=64)(np.zeros((2, 28, 28, 1), "float32"))  # (2, 16, 64)

    References:
        Dosovitskiy et al., "An Image is Worth 16x16 Words", 2021.
    """

    def __init__(self, patch_size, dim, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 embeddings_initializer=None, **kwargs):
        super().__init__(**kwargs)
        self.patch_size = _positive_int("patch_size", patch_size)
        self.dim = _positive_int("dim", dim)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.embeddings_initializer = keras.initializers.get(
            embeddings_initializer or keras.initializers.RandomNormal(stddev=0.02))
        self.projection = keras.layers.Conv2D(
            dim, patch_size, strides=patch_size,
            kernel_initializer=clone_initializer(self.kernel_initializer),
            bias_initializer=clone_initializer(self.bias_initializer), dtype=self.dtype_policy,
            name="projection")

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"PatchEmbedding expects images (batch, H, W, C), "
                             f"got {tuple(input_shape)}")
        h, w = input_shape[1], input_shape[2]
        if h is None or w is None or h % self.patch_size or w % self.patch_size:
            raise ValueError(f"image size ({h}, {w}) must be known and divisible by "
                             f"patch_size {self.patch_size}")
        self.num_patches = (h // self.patch_size) * (w // self.patch_size)
        self.projection.build(input_shape)
        self.position_embedding = self.add_weight(
            name="position_embedding", shape=(self.num_patches, self.dim),
            initializer=clone_initializer(self.embeddings_initializer))

    def call(self, images):
        x = self.projection(images)
        x = ops.reshape(x, (-1, self.num_patches, self.dim))
        return x + self.position_embedding[None]

    def compute_output_shape(self, input_shape):
        p = self.patch_size
        return (input_shape[0], (input_shape[1] // p) * (input_shape[2] // p), self.dim)

    def get_config(self):
        config = super().get_config()
        config.update(patch_size=self.patch_size, dim=self.dim,
                      kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
                      bias_initializer=keras.initializers.serialize(self.bias_initializer),
                      embeddings_initializer=keras.initializers.serialize(self.embeddings_initializer))
        return config
