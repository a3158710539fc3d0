"""Data augmentation layers (chapter 3)."""
import keras


@keras.saving.register_keras_serializable(package="course")
class RandomShift(keras.layers.Layer):
    """Shift each training image by its own random whole-pixel offset (−max_shift…max_shift) in
    height and width, filling with zeros; identity at inference.

    The shift is a product with two 0/1 shift matrices, ``S_h @ image @ S_wᵀ``: exact, and much cheaper
    on a CPU than ``RandomTranslation``'s general image warp.
    """

    def __init__(self, max_shift=2, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(max_shift, int) or max_shift < 0:
            raise ValueError(f"max_shift must be a non-negative int, got {max_shift!r}")
        self.max_shift, self.seed = max_shift, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"RandomShift expects (batch, height, width, channels), got {input_shape}")

    @staticmethod
    def shift_matrices(n, offsets, dtype="float32"):
        """(B, n, n) matrices with ``S[b] @ v`` = v moved down by ``offsets[b]`` (zeros shifted in)."""
        ops = keras.ops
        i = ops.arange(n)[None, :, None]
        j = ops.arange(n)[None, None, :]
        return ops.cast(ops.equal(j, i - ops.reshape(ops.cast(offsets, "int32"), (-1, 1, 1))), dtype)

    def call(self, x, training=None):
        if not training or self.max_shift == 0:
            return x
        ops = keras.ops
        shape = ops.shape(x)
        offsets = keras.random.randint((2, shape[0]), -self.max_shift, self.max_shift + 1,
                                          seed=self.seed_generator)
        sh = self.shift_matrices(shape[1], offsets[0], x.dtype)
        sw = self.shift_matrices(shape[2], offsets[1], x.dtype)
        x = ops.einsum("bij,bjwc->biwc", sh, x)
        return ops.einsum("bkw,bhwc->bhkc", sw, x)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_shift": self.max_shift, "seed": self.seed}
