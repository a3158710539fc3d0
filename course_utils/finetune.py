"""Fine-tuning a BERT classifier and predicting with it, on batches cut to their longest row (chapter 6).

- :class:`WarmupLinearDecay`: BERT's learning-rate schedule (linear warm-up, then linear decay to 0).
- :class:`LengthBatches`, :func:`batches_as_dataset`: token-id rows grouped by length, each batch cut to its
  longest row (padding is masked, so it only costs time), fed to Keras as a ``tf.data`` pipeline.
- :func:`fine_tune`, :func:`predict_logits`: AdamW + the schedule + early stopping; outputs in row order.
- :func:`encode_texts`, :func:`predict_sentiment`: raw text in, token ids or labels out.

The models themselves are built in :mod:`course_utils.bert`.
"""
import keras
import numpy as np
from keras import ops

from .training import TrainingClock


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

    from .training import no_autotune

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


EAGER_STEPS = 32   # fine_tune runs fits of at most this many steps eagerly (chapter 6's tiny label sets)


def fine_tune(model, x_train, y_train, x_val, y_val, epochs, peak_lr, batch_size=32, warmup=0.1,
              weight_decay=0.01, patience=2, verbose=0, callbacks=(), group_by_length=False,
              run_eagerly=None):
    """Fit with AdamW, warm-up + linear decay and early stopping on validation accuracy (best weights kept).

    ``callbacks`` are added to the fit.

    With ``group_by_length=True`` the token-id rows are fed as :class:`LengthBatches` (shuffled every epoch,
    each batch cut to its longest row): the same training, less arithmetic spent on padding. It works for our
    models and for KerasHub tasks built with ``preprocessor=None`` (fed KerasHub's input dict). Without it,
    our models get ``fit(x, y, shuffle=True)``. KerasHub tasks need it: given arrays, their ``fit`` batches
    them in order and ignores ``shuffle=True``.
    ``run_eagerly=None`` runs a short fit (at most :data:`EAGER_STEPS` optimizer steps) eagerly: tracing the
    training, validation and prediction graphs costs seconds per new model, more than a few dozen eager steps
    of a small model. ``True`` / ``False`` force one way. The arithmetic is the same either way.
    Returns ``(history, samples_per_second)``.
    """
    steps = epochs * -(-len(y_train) // batch_size)
    if run_eagerly is None:
        run_eagerly = steps <= EAGER_STEPS
    schedule = WarmupLinearDecay(peak_lr, int(warmup * steps), steps)
    model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=weight_decay),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], jit_compile=False, run_eagerly=run_eagerly)
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
