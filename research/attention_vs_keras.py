"""Chapter 4 benchmark: train-step time of course_utils.attention.MultiHeadSelfAttention
versus keras.layers.MultiHeadAttention, same sizes, same compiled train step.

    python research/attention_vs_keras.py            # seq 64 and 256 (the issue's goal: ratio <= 1.2)
    python research/attention_vs_keras.py --quick    # a few seconds, small sizes
    python research/attention_vs_keras.py --smoke    # tiny sizes: checks that it runs (ratio meaningless)

Prints one line per sequence length and the overall ratio ours / Keras (lower is better).
"""
import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from course_utils.attention import MultiHeadSelfAttention  # noqa: E402


class KerasSelfAttention(keras.layers.Layer):
    """keras.layers.MultiHeadAttention used as self-attention (query = value = x)."""

    def __init__(self, num_heads, key_dim):
        super().__init__()
        self.mha = keras.layers.MultiHeadAttention(num_heads, key_dim)

    def call(self, x):
        return self.mha(x, x)


def make_step(layer, x):
    """A compiled forward + backward + SGD update of ``layer`` on ``x`` (already warmed up)."""
    layer(x)
    opt = keras.optimizers.SGD(1e-3)

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(layer(x)))
        grads = tape.gradient(loss, layer.trainable_variables)
        opt.apply_gradients(zip(grads, layer.trainable_variables))
        return loss

    for _ in range(3):
        step(x).numpy()
    return step


def _median_time(step, x, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step(x).numpy()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def compare(seq_lens=(64, 256), batch=16, dim=128, num_heads=4, repeats=20, rounds=3, seed=0):
    """{seq_len: (ours_s, keras_s)} and the overall ratio sum(ours) / sum(keras).

    The two layers alternate for ``rounds`` rounds (best median kept), so both see
    the same machine load.
    """
    rng = np.random.default_rng(seed)
    rows = {}
    for n in seq_lens:
        x = tf.constant(rng.normal(size=(batch, n, dim)).astype("float32"))
        ours = make_step(MultiHeadSelfAttention(num_heads, dim // num_heads), x)
        ref = make_step(KerasSelfAttention(num_heads, dim // num_heads), x)
        t_ours, t_ref = [], []
        for _ in range(rounds):
            t_ours.append(_median_time(ours, x, repeats))
            t_ref.append(_median_time(ref, x, repeats))
        rows[n] = (min(t_ours), min(t_ref))
    ratio = sum(o for o, _ in rows.values()) / sum(k for _, k in rows.values())
    return rows, ratio


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one round: checks that it runs")
    args = parser.parse_args(argv)
    if args.smoke:
        rows, ratio = compare(seq_lens=(16,), batch=2, dim=16, repeats=2, rounds=1)
    elif args.quick:
        rows, ratio = compare(seq_lens=(32, 64), batch=8, dim=64, repeats=5)
    else:
        rows, ratio = compare()
    print(f"device: {'GPU' if tf.config.list_physical_devices('GPU') else 'CPU'}")
    for n, (o, k) in rows.items():
        print(f"seq {n:4d}: ours {o * 1e3:8.2f} ms   keras {k * 1e3:8.2f} ms   ratio {o / k:.3f}")
    print(f"overall ratio ours/keras: {ratio:.3f} (goal <= 1.2)")
    return ratio


if __name__ == "__main__":
    main()
