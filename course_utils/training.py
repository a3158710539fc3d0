"""Training to a budget (chapter 3; the clock is also chapter 6's throughput meter).

- :func:`forward_flops` counts the floating-point operations of one forward pass (Conv2D and Dense layers),
  the machine-independent cost of a model: equal epochs of two models of equal FLOPs are equal compute.
- :class:`TrainingClock` measures the seconds a ``fit`` spends *training* (validation excluded), per epoch.
- :class:`CosineToBudget` anneals the learning rate to zero exactly when the budget of steps runs out.
- :func:`no_autotune` switches tf.data's autotuner off on a pipeline you build (chapters 3 and 6).
- :class:`LastEpochWeights` keeps the last epoch's weights when ``EarlyStopping`` restores the best ones.
- :func:`fit_arrays` is chapter 3's plumbing around ``model.fit``: shuffled tf.data pipelines built from
  arrays (one-hot labels, no autotuner) and a :class:`TrainingClock`.
"""
import math
import time

import keras
import numpy as np


def forward_flops(model):
    """Floating-point operations of one forward pass of *one* example through ``model``.

    Counts the multiply-adds of the ``Conv2D`` and ``Dense`` layers, 2 operations each: a layer applies
    its kernel (``k_h·k_w·C_in·C_out`` weights for a convolution, ``n_in·n_out`` for a dense layer) once
    per output position (``H_out·W_out`` for a convolution, 1 for a dense layer on a vector). Layers
    without a kernel (BatchNorm, ReLU, pooling, dropout) cost a few operations per activation and are
    left out. Nested models are counted through. A training step costs about three times this per
    example (the backward pass computes two products per forward one: the gradients of the inputs and
    of the weights).

    Raises ``ValueError`` for a layer with a kernel that is neither ``Conv2D`` nor ``Dense`` (a depthwise or
    separable convolution would be miscounted).
    """
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += forward_flops(layer)
        elif isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
            positions = int(np.prod(layer.output.shape[1:-1]))
            total += 2 * positions * int(np.prod(layer.kernel.shape))
        elif any(getattr(layer, k, None) is not None for k in ("kernel", "depthwise_kernel")):
            raise ValueError(f"forward_flops counts Conv2D and Dense layers only, got {type(layer).__name__} "
                             f"({layer.name})")
    return total


class TrainingClock(keras.callbacks.Callback):
    """Seconds of training in a ``fit``: runs from the start of each epoch to its validation (or its end).

    ``epoch_seconds`` holds one entry per finished epoch, ``elapsed`` the total so far (including the
    running epoch). The first epoch includes tracing and compiling.
    """

    def __init__(self):
        super().__init__()
        self.elapsed, self.epoch_seconds, self._start = 0.0, [], None

    def _now(self):
        return self.elapsed + (time.perf_counter() - self._start if self._start is not None else 0.0)

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_test_begin(self, logs=None):  # validation starts: pause the clock
        if self._start is not None:
            seconds = time.perf_counter() - self._start
            self.elapsed, self._start = self.elapsed + seconds, None
            self.epoch_seconds.append(seconds)

    def on_epoch_end(self, epoch, logs=None):
        self.on_test_begin()


class CosineToBudget(keras.callbacks.Callback):
    """Linear warm-up, then cosine decay to 0 at ``total_steps``. Sets the rate every batch."""

    def __init__(self, peak, total_steps, warmup=0.03):
        super().__init__()
        if peak <= 0 or total_steps < 1 or not 0 <= warmup < 1:
            raise ValueError("need peak > 0, total_steps >= 1, 0 <= warmup < 1; "
                             f"got {peak}, {total_steps}, {warmup}")
        self.peak, self.total_steps, self.warmup = peak, total_steps, warmup
        self.step, self.rates = 0, []

    def rate(self, progress):
        if progress < self.warmup:
            return self.peak * progress / self.warmup
        p = min(1.0, (progress - self.warmup) / (1 - self.warmup))
        return self.peak * 0.5 * (1 + math.cos(math.pi * p))

    def on_train_batch_begin(self, batch, logs=None):
        lr = self.rate(self.step / self.total_steps)
        self.model.optimizer.learning_rate.assign(lr)
        self.step += 1
        if batch == 0:
            self.rates.append(lr)


def no_autotune(dataset):
    """``dataset`` with tf.data's autotuner switched off (fixed buffers, no background tuning thread).

    Why (measured in chapter 3 on TensorFlow 2.21, 2 CPUs): the autotuner thread sleeps 10 ms, 20 ms,
    40 ms, ... between rounds, and closing the iterator waits for its next wake-up. A Keras ``fit`` that
    trained for 12.6 s returned after 20.47 s (= 10 ms × (2¹¹ − 1)): any call can be held up to about
    its own duration again. Use it on a pipeline you build (``model.fit(no_autotune(batches))``); Keras'
    own pipelines for NumPy inputs keep TensorFlow's default.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


class LastEpochWeights(keras.callbacks.Callback):
    """Copies the model's weights at the end of every epoch: after a ``fit`` whose
    ``EarlyStopping(restore_best_weights=True)`` put the best epoch's weights back, ``weights`` still holds
    the *last* epoch's (and ``epoch`` its 0-based index), so the two can be compared (chapter 3, §9).
    """

    def __init__(self):
        super().__init__()
        self.weights, self.epoch = None, None

    def on_epoch_end(self, epoch, logs=None):
        self.weights, self.epoch = self.model.get_weights(), epoch


def fit_arrays(model, train, validation, epochs, batch_size=128, callbacks=(), num_classes=None, seed=0):
    """``model.fit`` on in-memory arrays, the way chapter 3 trains every model; returns ``(history, clock)``.

    Args:
        model: a compiled Keras model whose loss takes one-hot labels (``CategoricalCrossentropy``).
        train, validation: ``(images, integer_labels)`` pairs.
        epochs, batch_size: the budget; an epoch is ``ceil(len(train) / batch_size)`` steps.
        callbacks: more Keras callbacks (early stopping, a schedule).
        num_classes: width of the one-hot labels (default: the largest label + 1).
        seed: the shuffling seed.

    The training pipeline is one endless shuffled stream cut into epochs by ``steps_per_epoch`` (one
    iterator for the whole run); both pipelines run without tf.data's autotuner (:func:`no_autotune`).
    A :class:`TrainingClock` (returned) measures the training seconds of each epoch.
    """
    import tensorflow as tf

    (x, y), (x_val, y_val) = train, validation
    if len(x) != len(y) or len(x_val) != len(y_val) or len(x) == 0 or len(x_val) == 0:
        raise ValueError("images and labels must be non-empty and of equal length, got "
                         f"{len(x)} and {len(y)} (train), {len(x_val)} and {len(y_val)} (validation)")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {epochs} and {batch_size}")
    k = int(num_classes or max(np.max(y), np.max(y_val)) + 1)
    one_hot = lambda images, labels: (images, tf.one_hot(labels, k))   # noqa: E731
    batches = no_autotune(tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(y), seed=seed)
                          .batch(batch_size).map(one_hot).repeat().prefetch(2))
    val_batches = no_autotune(tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(512).map(one_hot))
    clock = TrainingClock()
    history = model.fit(batches, steps_per_epoch=-(-len(y) // batch_size), epochs=epochs, shuffle=False,
                        validation_data=val_batches, callbacks=[clock, *callbacks], verbose=0)
    return history, clock
