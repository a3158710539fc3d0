"""Epoch time of the chapter-2 NumPy framework vs Keras on the same MLP (784-256-128-10, Adam, batch 128).

    python research/numpy_vs_keras.py [--samples 60000] [--blas-threads 1]

Both frameworks start from the same weights and see the same batches, one call per batch
(our ``train_step``, Keras's compiled ``train_on_batch``); the second of two epochs is timed,
so Keras's one-off graph tracing is left out. Prints the times and the ratio ours / Keras.
"""
import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=60000, help="training images per epoch (max 60000)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--blas-threads", type=int, default=1, help="NumPy BLAS threads (0 = library default)")
    a = ap.parse_args(argv)

    import numpy as np
    from threadpoolctl import threadpool_limits

    import course_utils as cu
    from course_utils import data
    from course_utils import numpy_nn as nn

    if a.blas_threads:
        threadpool_limits(limits=a.blas_threads, user_api="blas")
    cu.set_seed(0)
    import keras

    (x, y), _ = data.load_mnist()
    x, y = data.subset(x.reshape(-1, 784).astype(np.float32) / 255, y.astype(np.int64), a.samples, seed=3)
    ours = nn.Sequential([nn.Dense(784, 256, seed=1), nn.ReLU(), nn.Dense(256, 128, seed=2), nn.ReLU(),
                          nn.Dense(128, 10, init="xavier", seed=3)]).compile(nn.Adam(1e-3))
    twin = keras.Sequential([keras.Input((784,)), keras.layers.Dense(256, activation="relu"),
                             keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10)])
    twin.set_weights([p.copy() for p in ours.params])
    twin.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    batches = [(x[i:i + a.batch_size], y[i:i + a.batch_size]) for i in range(0, len(x), a.batch_size)]

    def epoch(step):
        start = time.perf_counter()
        for xb, yb in batches:
            step(xb, yb)
        return time.perf_counter() - start

    times = {"numpy": [], "keras": []}
    for _ in range(2):
        times["numpy"].append(epoch(ours.train_step))
        times["keras"].append(epoch(twin.train_on_batch))
    ratio = times["numpy"][-1] / times["keras"][-1]
    print(f"{len(x)} images, batch {a.batch_size}, BLAS threads {a.blas_threads or 'default'}: "
          f"numpy {times['numpy'][-1]:.2f} s/epoch, keras {times['keras'][-1]:.2f} s/epoch "
          f"(first epoch {times['keras'][0]:.2f} s with tracing); ratio numpy/keras {ratio:.2f}")
    return ratio


if __name__ == "__main__":
    main()
