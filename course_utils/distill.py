"""Task-specific distillation: a small student learns a fine-tuned teacher's soft labels (chapter 6).

- :func:`soften`, :func:`distillation_loss` and :class:`DistillationLoss`: the loss of Hinton et al. (2015),
  soft targets at temperature ``T`` (scaled by ``T²``) plus ``alpha`` times the hard cross-entropy,

  ``L = (1 - alpha) · T² · KL(softmax(t / T) ‖ softmax(s / T)) + alpha · CE(y, softmax(s))``,

  where ``t`` and ``s`` are the teacher's and the student's logits. Sentences without a label (label -1, e.g.
  unlabelled reviews or augmented copies) get the soft term only.
- :func:`augment` and :func:`transfer_set`: the transfer set of Tang et al. (2019): the training sentences,
  unlabelled text and copies of them with tokens masked and with random n-grams cut out. Rows equal to a
  validation or test row are dropped (``exclude``), so the student never sees one, even unlabelled.
- :func:`build_student`: a small BERT classifier (chapter 6's mini-BERT shape) for the student.
- :func:`fit_student`: AdamW with warm-up and linear decay on length-grouped batches, the teacher's logits as
  targets; the epoch with the best validation accuracy is kept.
- :func:`encoder_flops` and :func:`model_flops`: the floating-point operations of one sentence through a
  BERT encoder and classifier, from the formula and from the weights of a built model.

References:
    Hinton, Vinyals & Dean, "Distilling the Knowledge in a Neural Network", 2015 (soft targets, T²);
    Tang et al., "Distilling Task-Specific Knowledge from BERT into Simple Neural Networks", 2019 (the
    transfer set: masking, n-gram sampling); Sanh et al., "DistilBERT", 2019; Jiao et al., "TinyBERT", 2020.
"""
import keras
import numpy as np
from keras import ops


def _temperature(temperature):
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.floating, np.integer)):
        raise ValueError(f"temperature must be a number > 0, got {temperature!r}")
    if not np.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be > 0 (it divides the logits), got {temperature}")
    return float(temperature)


def _alpha(alpha):
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating, np.integer)) \
            or not 0 <= alpha <= 1:
        raise ValueError(f"alpha (the weight of the hard cross-entropy) must lie in [0, 1], got {alpha!r}")
    return float(alpha)


def _logits(values, name):
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty (examples, classes) array of logits, "
                         f"got shape {arr.shape}")
    if arr.shape[1] < 2:
        raise ValueError(f"{name} must have at least 2 classes, got {arr.shape[1]}")
    return arr


def soften(logits, temperature):
    """``softmax(logits / T)`` row by row (NumPy): the teacher's soft targets at temperature ``T``.

    Example:
        >>> soften([[2.0, 0.0]], 1.0).round(3).tolist(), soften([[2.0, 0.0]], 4.0).round(3).tolist()
        ([[0.881, 0.119]], [[0.622, 0.378]])
    """
    z = _logits(logits, "logits") / _temperature(temperature)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def distillation_loss(teacher_logits, student_logits, labels=None, temperature=2.0, alpha=0.5):
    """The distillation loss of every example (NumPy, float64): the reference the Keras loss is checked on.

    Args:
        teacher_logits, student_logits: ``(examples, classes)``, the same number of classes.
        labels: the hard labels, one int per example, -1 where there is none; ``None``: no example has one.
        temperature: ``T > 0``; both sets of logits are divided by it in the soft term.
        alpha: weight of the hard cross-entropy, in [0, 1]; the soft term gets ``1 - alpha``.

    Returns ``(1 - alpha) · T² · KL(p_T ‖ q_T) + alpha · CE(y, q_1)`` per example, where the hard term is 0
    for an example without a label. Raises ``ValueError`` for mismatched shapes, ``T <= 0`` or empty inputs.
    """
    t = _logits(teacher_logits, "teacher_logits")
    s = _logits(student_logits, "student_logits")
    if t.shape != s.shape:
        raise ValueError(f"teacher and student must score the same examples and classes: teacher logits "
                         f"{t.shape}, student logits {s.shape}")
    temperature, alpha = _temperature(temperature), _alpha(alpha)
    p = soften(t, temperature)
    log_q = np.log(soften(s, temperature))
    kl = np.sum(p * (np.log(p) - log_q), axis=1)
    labels = np.full(len(s), -1) if labels is None else np.asarray(labels)
    if labels.shape != (len(s),):
        raise ValueError(f"labels must hold one int per example ({len(s)}), got shape {labels.shape}")
    if np.any(labels >= s.shape[1]) or np.any(labels < -1):
        raise ValueError(f"labels must lie in [-1, {s.shape[1] - 1}] (-1: no label), got {labels.min()} "
                         f"to {labels.max()}")
    log_q1 = np.log(soften(s, 1.0))
    has = labels >= 0
    hard = np.where(has, -log_q1[np.arange(len(s)), np.maximum(labels, 0)], 0.0)
    return (1 - alpha) * temperature**2 * kl + alpha * hard


def pack_targets(teacher_logits, labels=None):
    """``y_true`` for :class:`DistillationLoss`: the teacher's logits and the hard label (-1: none) side by
    side, ``(examples, classes + 1)`` float32."""
    t = _logits(teacher_logits, "teacher_logits")
    labels = np.full(len(t), -1) if labels is None else np.asarray(labels)
    if labels.shape != (len(t),):
        raise ValueError(f"labels must hold one int per example ({len(t)}), got shape {labels.shape}")
    return np.concatenate([t, labels[:, None]], axis=1).astype("float32")


@keras.saving.register_keras_serializable(package="course")
class DistillationLoss(keras.losses.Loss):
    """:func:`distillation_loss` as a Keras loss. ``y_true`` is :func:`pack_targets`'s array: the teacher's
    logits, then the hard label (-1: none); ``y_pred`` is the student's logits.

    Args:
        temperature: ``T > 0``.
        alpha: weight of the hard cross-entropy, in [0, 1].
        **kwargs: ``name``, ``reduction`` of ``keras.losses.Loss``.
    """

    def __init__(self, temperature=2.0, alpha=0.5, name="distillation", **kwargs):
        super().__init__(name=name, **kwargs)
        self.temperature, self.alpha = _temperature(temperature), _alpha(alpha)

    def call(self, y_true, y_pred):
        classes = y_pred.shape[-1]
        if y_true.shape[-1] is not None and classes is not None and y_true.shape[-1] != classes + 1:
            raise ValueError(f"the teacher has {y_true.shape[-1] - 1} classes, the student {classes}: "
                             "they must predict the same labels")
        y_true = ops.cast(y_true, y_pred.dtype)
        teacher, label = y_true[:, :-1], y_true[:, -1]
        t = self.temperature
        p = ops.softmax(teacher / t, axis=-1)
        log_q = ops.log_softmax(y_pred / t, axis=-1)
        kl = ops.sum(p * (ops.log(ops.maximum(p, 1e-12)) - log_q), axis=-1)
        has = ops.cast(label >= 0, y_pred.dtype)
        index = ops.cast(ops.maximum(label, 0), "int32")
        log_q1 = ops.log_softmax(y_pred, axis=-1)
        hard = -ops.sum(ops.one_hot(index, classes, dtype=y_pred.dtype) * log_q1, axis=-1) * has
        return (1 - self.alpha) * t * t * kl + self.alpha * hard

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature, "alpha": self.alpha}


def _rows(rows, name):
    rows = np.asarray(rows)
    if rows.ndim != 2 or not np.issubdtype(rows.dtype, np.integer):
        raise ValueError(f"{name} must be a 2-D integer array of token ids, got {rows.dtype} {rows.shape}")
    if len(rows) == 0:
        raise ValueError(f"{name} has no rows: the transfer set needs sentences")
    return rows


def augment(rows, copies, mask_id, special_ids, mask_rate=0.1, ngram_rate=0.25, max_ngram=5, seed=0):
    """``copies`` augmented copies of every row (Tang et al. 2019): masking, then n-gram sampling.

    Rows are ``[CLS] tokens [SEP] [PAD]...``. In a copy, every ordinary token (not in ``special_ids``) becomes
    ``mask_id`` with probability ``mask_rate``; then, with probability ``ngram_rate``, only an n-gram of the
    tokens is kept (``n`` uniform in 1..``max_ngram``, its start uniform), re-packed as
    ``[CLS] n-gram [SEP]``.
    Returns ``(rows × copies, width)`` ids; copy ``k`` of row ``i`` is row ``k · len(rows) + i``.

    Example:
        >>> augment(np.array([[2, 7, 8, 9, 3, 0]]), 1, 4, [0, 2, 3, 4], mask_rate=0.5, ngram_rate=0.0, seed=1)
        array([[2, 7, 4, 9, 3, 0]])
    """
    rows = _rows(rows, "rows")
    if isinstance(copies, bool) or not isinstance(copies, (int, np.integer)) or copies < 1:
        raise ValueError(f"copies must be a positive integer, got {copies!r}")
    for name, rate in (("mask_rate", mask_rate), ("ngram_rate", ngram_rate)):
        if not 0 <= rate <= 1:
            raise ValueError(f"{name} must lie in [0, 1], got {rate}")
    if int(max_ngram) < 1:
        raise ValueError(f"max_ngram must be at least 1, got {max_ngram}")
    special = np.asarray(sorted(set(int(i) for i in special_ids)))
    rng = np.random.default_rng(seed)
    out = np.zeros((copies * len(rows), rows.shape[1]), dtype=rows.dtype)
    for k in range(copies):
        masked = rows.copy()
        ordinary = ~np.isin(masked, special)
        masked[ordinary & (rng.random(rows.shape) < mask_rate)] = mask_id
        cut = rng.random(len(rows)) < ngram_rate
        n_gram = rng.integers(1, int(max_ngram) + 1, len(rows))
        start_key = rng.random(len(rows))
        for i, row in enumerate(masked):
            if cut[i]:
                length = int((rows[i] != 0).sum()) - 2          # tokens between [CLS] and [SEP]
                n = min(int(n_gram[i]), max(length, 1))
                start = 1 + int(start_key[i] * max(length - n + 1, 1))
                piece = row[start:start + n]
                row = np.zeros_like(row)
                row[0], row[1:1 + len(piece)], row[1 + len(piece)] = rows[i, 0], piece, rows[i, 1 + length]
            out[k * len(rows) + i] = row
    return out


def transfer_set(rows, copies=0, exclude=(), **augment_args):
    """The student's inputs: ``rows`` (training sentences and unlabelled text), then ``copies`` augmented
    copies of them (:func:`augment`), with duplicates and every row equal to a row of ``exclude`` (validation
    and test sentences) removed. Returns ``(ids, source)``: ``source[j]`` is the index in ``rows`` that row
    ``j`` came from, so that labels can follow (an original keeps its label; copies get none).

    Raises ``ValueError`` for empty ``rows`` or rows of another width than ``exclude``'s.
    """
    rows = _rows(rows, "rows")
    parts, source = [rows], [np.arange(len(rows))]
    if copies:
        parts.append(augment(rows, copies, **augment_args))
        source.append(np.tile(np.arange(len(rows)), copies))
    ids, source = np.concatenate(parts), np.concatenate(source)
    _, first = np.unique(ids, axis=0, return_index=True)
    keep = np.zeros(len(ids), bool)
    keep[first] = True
    for other in exclude:
        other = np.asarray(other)
        if other.size == 0:
            continue
        if other.ndim != 2 or other.shape[1] != ids.shape[1]:
            raise ValueError(f"exclude holds rows of shape {other.shape}, the transfer set rows of width "
                             f"{ids.shape[1]}: pack them the same way")
        seen = {r.tobytes() for r in other.astype(ids.dtype)}
        keep &= np.array([r.tobytes() not in seen for r in ids])
    return ids[keep], source[keep]


def build_student(vocab_size, num_classes=2, num_layers=2, num_heads=4, hidden_dim=128, ff_dim=512,
                  max_length=64, dropout=0.1, seed=0, name="student"):
    """A small BERT sentence classifier (pre-LayerNorm, mean pooling): chapter 6's mini-BERT shape."""
    from . import bert

    if int(num_classes) < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    encoder = bert.build_bert(vocab_size, num_layers=num_layers, num_heads=num_heads, hidden_dim=hidden_dim,
                              ff_dim=ff_dim, max_length=max_length, dropout=dropout, seed=seed,
                              norm_first=True, name=f"{name}_encoder")
    return bert.build_classifier(encoder, num_classes=num_classes, dropout=dropout, name=name)


class _KeepBestOnValidation(keras.callbacks.Callback):
    """After every epoch: validation accuracy (length-grouped prediction); the best epoch's weights are
    restored when training ends."""

    def __init__(self, x_val, y_val):
        super().__init__()
        self.x_val, self.y_val = x_val, np.asarray(y_val)
        self.accuracy, self.best, self.best_weights = [], -1.0, None

    def on_epoch_end(self, epoch, logs=None):
        from .finetune import predict_logits

        acc = float(np.mean(predict_logits(self.model, self.x_val).argmax(1) == self.y_val))
        self.accuracy.append(acc)
        if logs is not None:
            logs["val_accuracy"] = acc
        if acc > self.best:
            self.best, self.best_weights = acc, self.model.get_weights()

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def fit_student(student, x, teacher_logits, labels, x_val, y_val, epochs, peak_lr, temperature=2.0,
                alpha=0.5, batch_size=64, warmup=0.1, weight_decay=0.01, seed=0):
    """Train ``student`` on ``teacher_logits`` (and hard ``labels``, -1: none) for rows ``x``.

    AdamW, warm-up over ``warmup`` of the steps then linear decay to 0 (:class:`finetune.WarmupLinearDecay`),
    length-grouped batches (:class:`finetune.LengthBatches`); after every epoch the validation accuracy is
    measured and the best epoch's weights are kept. Returns the list of validation accuracies per epoch.

    Raises ``ValueError`` when the teacher's and the student's numbers of classes differ, for empty inputs,
    or for ``temperature <= 0``.
    """
    from .finetune import LengthBatches, WarmupLinearDecay

    x = _rows(x, "x")
    teacher_logits = _logits(teacher_logits, "teacher_logits")
    if len(teacher_logits) != len(x):
        raise ValueError(f"x has {len(x)} rows but teacher_logits {len(teacher_logits)}")
    classes = student.output_shape[-1]
    if teacher_logits.shape[1] != classes:
        raise ValueError(f"the teacher has {teacher_logits.shape[1]} classes, the student {classes}: "
                         "they must predict the same labels")
    loss = DistillationLoss(temperature, alpha)
    steps = int(epochs) * -(-len(x) // batch_size)
    schedule = WarmupLinearDecay(peak_lr, int(warmup * steps), steps)
    student.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=weight_decay), loss=loss,
                    jit_compile=False)
    batches = LengthBatches(x, pack_targets(teacher_logits, labels), batch_size, shuffle=True, seed=seed)
    keep = _KeepBestOnValidation(x_val, y_val)
    student.fit(batches.as_tf_dataset(), epochs=int(epochs), callbacks=[keep], shuffle=False, verbose=0)
    return keep.accuracy


def encoder_flops(seq_len, num_layers, hidden_dim, ff_dim, num_classes=None):
    """Floating-point operations of one sentence of ``seq_len`` tokens through a BERT encoder (and a
    classifier head on the mean-pooled vector when ``num_classes`` is given); a multiply-add counts 2.

    Per block and token: the four ``d × d`` projections of attention (``8 d²``), the feed-forward layer's two
    matrices (``4 d · ff``), and the scores ``Q Kᵀ`` and the weighted sum of values (``4 · seq_len · d``).
    Embedding look-ups, softmax, LayerNorm and GELU cost a few operations per activation and are left out.

    Example:
        >>> encoder_flops(10, 1, 8, 16)           # 10 · (8·64 + 4·8·16 + 4·10·8)
        13440
    """
    for name, v in (("seq_len", seq_len), ("num_layers", num_layers), ("hidden_dim", hidden_dim),
                    ("ff_dim", ff_dim)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    d = int(hidden_dim)
    per_token = 8 * d * d + 4 * d * int(ff_dim) + 4 * int(seq_len) * d
    total = int(seq_len) * int(num_layers) * per_token
    if num_classes is not None:
        total += 2 * d * int(num_classes)
    return total


def model_flops(model, seq_len):
    """The same count as :func:`encoder_flops`, read off a built model's weights: every 2-D kernel
    ``(n_in, n_out)`` applied once per token (``2 · n_in · n_out · seq_len``), the head's once per sentence,
    plus the attention products ``4 · seq_len² · d`` of every attention layer. A check of the formula."""
    from .attention import MultiHeadSelfAttention

    if isinstance(seq_len, bool) or not isinstance(seq_len, (int, np.integer)) or seq_len < 1:
        raise ValueError(f"seq_len must be a positive integer, got {seq_len!r}")
    def attention_layers(m):
        for layer in m.layers:
            if isinstance(layer, keras.Model):
                yield from attention_layers(layer)
            elif isinstance(getattr(layer, "attention", None), MultiHeadSelfAttention):
                yield layer.attention

    total = 0
    for layer in attention_layers(model):
        total += 4 * seq_len * seq_len * int(layer.query_kernel.shape[0])   # Q Kᵀ and weights · V
    for v in model.trainable_variables:
        if len(v.shape) == 2 and "embeddings" not in v.path:                  # a kernel (n_in, n_out)
            once = "logits" in v.path                                           # the head: once per sentence
            total += 2 * int(np.prod(v.shape)) * (1 if once else seq_len)
    return total
