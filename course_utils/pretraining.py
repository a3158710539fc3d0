"""Pretraining on unlabelled text at a small budget, and how to see whether it paid off (chapter 6).

- :func:`masked_word_examples` and :func:`build_masked_word_model`: masked-language modelling with the
  simplest encoder there is, a bag of word embeddings: hide one word of each sentence and predict it from
  the average embedding of the others (word2vec's CBOW with the whole sentence as the window).
- :func:`bag_of_embeddings`: sentence features from an embedding table (mean over real tokens), to probe
  what a table learned with a linear classifier while it stays frozen.
- :class:`WeightSnapshots`: copies of a model's weights at chosen training steps of one run, so that a
  single pretraining run gives a whole compute curve (steps against downstream accuracy).

References:
    Mikolov et al., "Efficient Estimation of Word Representations in Vector Space", 2013 (CBOW);
    Devlin et al., "BERT", 2019 (masked-language modelling); Geiping & Goldstein, "Cramming", 2022.
"""
import keras
import numpy as np

from .bert import MaskedMeanPool


def _rows(rows, name="rows"):
    rows = np.asarray(rows)
    if rows.ndim != 2 or not np.issubdtype(rows.dtype, np.integer):
        raise ValueError(f"{name} must be a 2-D integer array of token ids, got {rows.dtype} {rows.shape}")
    if rows.size and rows.min() < 0:
        raise ValueError(f"{name} holds a negative token id ({rows.min()})")
    return rows


def masked_word_examples(rows, num_special=5, seed=None):
    """One hidden word per row: ``(context, target)`` for the bag-of-words masked-word model.

    Args:
        rows: ``(n, seq_len)`` token ids; ids below ``num_special`` are padding and special tokens
            ([PAD] = 0, [UNK], [CLS], [SEP], [MASK]: ``course_utils.text.SPECIAL_TOKENS``).
        num_special: how many ids at the start of the vocabulary are special; they are never targets.
        seed: a new seed per epoch gives a new hidden word per row (dynamic masking).

    Returns:
        ``context``: the rows with the hidden word set to 0 (padding, so the model cannot see it), and
        ``target``: the hidden ids. Rows without an ordinary token are left out.

    Example:
        >>> context, target = masked_word_examples(np.array([[2, 7, 9, 3, 0]]), seed=0)
        >>> context, target   # e.g. (array([[2, 0, 9, 3, 0]]), array([7]))
    """
    rows = _rows(rows)
    if num_special < 1:
        raise ValueError(f"num_special must be >= 1 (id 0 is padding), got {num_special}")
    eligible = rows >= num_special
    keep = eligible.any(axis=1)
    if not keep.any():
        raise ValueError(f"no row holds an ordinary token (an id >= {num_special}) to hide")
    rows, eligible = rows[keep], eligible[keep]
    rng = np.random.default_rng(seed)
    # a uniform choice among each row's eligible positions: the largest random key wins
    keys = np.where(eligible, rng.random(rows.shape), -1.0)
    position = keys.argmax(axis=1)
    index = np.arange(len(rows))
    target = rows[index, position].copy()
    context = rows.copy()
    context[index, position] = 0
    return context, target


def build_masked_word_model(vocab_size, dim, seed=None, name="masked_word_model"):
    """Token ids with one word removed → logits over the vocabulary for that word.

    ``word_embeddings`` (``Embedding(vocab_size, dim)``, id 0 masked) → mean over the real tokens
    (:class:`course_utils.bert.MaskedMeanPool`) → ``Dense(vocab_size)``. Word order is ignored: all it can
    learn is which words occur together, which is what makes its embedding table useful as features.
    The table starts from BERT's ``TruncatedNormal(0.02)``, like the mini-BERT's.

    Example:
        >>> model = build_masked_word_model(vocab_size=100, dim=8, seed=0)
        >>> model.predict(np.array([[2, 0, 9, 3]]), verbose=0).shape
        (1, 100)
    """
    if vocab_size < 2 or dim < 1:
        raise ValueError(f"vocab_size must be >= 2 and dim >= 1, got {vocab_size} and {dim}")
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    embed = keras.layers.Embedding(
        vocab_size, dim, mask_zero=True, name="word_embeddings",
        embeddings_initializer=keras.initializers.TruncatedNormal(stddev=0.02, seed=seed))
    h = MaskedMeanPool(name="pool")(embed(token_ids))
    logits = keras.layers.Dense(vocab_size, name="logits",
                                kernel_initializer=keras.initializers.GlorotUniform(seed=seed))(h)
    return keras.Model(token_ids, logits, name=name)


def bag_of_embeddings(table, rows, num_special=5):
    """Sentence features: the mean of ``table``'s rows over each row's ordinary tokens (ids >= num_special).

    Args:
        table: ``(vocab_size, dim)`` embedding matrix (e.g. the masked-word model's ``word_embeddings``).
        rows: ``(n, seq_len)`` token ids in the same vocabulary.

    Returns ``(n, dim)`` float32; a row without ordinary tokens gets zeros.
    """
    table = np.asarray(table, dtype=np.float32)
    rows = _rows(rows)
    if table.ndim != 2:
        raise ValueError(f"table must be (vocab_size, dim), got shape {table.shape}")
    if rows.size and rows.max() >= len(table):
        raise ValueError(f"rows hold id {rows.max()} but table has only {len(table)} rows")
    real = (rows >= num_special).astype(np.float32)[..., None]
    return (table[rows] * real).sum(axis=1) / np.maximum(real.sum(axis=1), 1.0)


class WeightSnapshots(keras.callbacks.Callback):
    """Keep copies of the model's weights after chosen numbers of training steps (0 = before training).

    One pretraining run then gives every point of a compute curve: load ``snapshots[step]`` into a fresh
    copy of the model and measure it. Steps count across epochs and ``fit`` calls (``optimizer.iterations``).

    Example:
        >>> snaps = WeightSnapshots([0, 100, 500])
        >>> model.fit(x, y, epochs=5, callbacks=[snaps])          # doctest: +SKIP
        >>> fresh.set_weights(snaps.snapshots[100])                 # doctest: +SKIP
    """

    def __init__(self, steps):
        super().__init__()
        steps = sorted({int(s) for s in steps})
        if not steps or steps[0] < 0:
            raise ValueError(f"steps must be a non-empty list of step counts >= 0, got {steps}")
        self.steps, self.snapshots = steps, {}

    def _take(self, step):
        if step in self.steps and step not in self.snapshots:
            self.snapshots[step] = [np.array(w) for w in self.model.get_weights()]

    def on_train_begin(self, logs=None):
        self._take(int(self.model.optimizer.iterations.numpy()))

    def on_train_batch_end(self, batch, logs=None):
        self._take(int(self.model.optimizer.iterations.numpy()))

    def missing(self):
        """Steps asked for that training never reached."""
        return [s for s in self.steps if s not in self.snapshots]
