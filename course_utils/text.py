"""Token ids for BERT-style models: packing, a small vocabulary, MLM masking (chapter 6).

Everything here works on plain NumPy integer arrays, so it can be tested without a model.
The WordPiece splitting itself is done by ``keras_hub`` tokenizers (see the notebook).
"""
import numpy as np

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def _check_ids(token_ids, vocab_size, name="token_ids"):
    ids = np.asarray(token_ids)
    if not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"{name} must be an integer array, got dtype {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"{name} must lie in [0, {vocab_size}), got min {ids.min()} and max {ids.max()}")
    return ids


def mask_tokens(token_ids, mask_token_id, vocab_size, special_token_ids, mask_rate=0.15, seed=None):
    """BERT's masked-language-model corruption (Devlin et al. 2019, section 3.1).

    Each position whose id is not in ``special_token_ids`` (list ``[PAD]`` there too) is
    *selected* with probability ``mask_rate``. A selected token becomes ``[MASK]`` 80% of the
    time, a random non-special token 10%, and stays unchanged 10%.

    Returns ``(masked_ids, labels, sample_weight)``: ``labels`` are the original ids, and
    ``sample_weight`` is 1.0 at selected positions and 0.0 elsewhere, so a loss with
    ``sample_weight`` only scores the selected positions.
    """
    ids = _check_ids(token_ids, vocab_size)
    if not 0 < mask_rate < 1:
        raise ValueError(f"mask_rate must be in (0, 1), got {mask_rate}")
    special = np.asarray(sorted(set(int(i) for i in special_token_ids)), dtype=np.int64)
    _check_ids(special, vocab_size, "special_token_ids")
    if not 0 <= mask_token_id < vocab_size:
        raise ValueError(f"mask_token_id must lie in [0, {vocab_size}), got {mask_token_id}")
    rng = np.random.default_rng(seed)
    eligible = ~np.isin(ids, special)
    selected = eligible & (rng.random(ids.shape) < mask_rate)
    action = rng.random(ids.shape)  # < 0.8: [MASK]; 0.8-0.9: random token; else keep
    ordinary = np.setdiff1d(np.arange(vocab_size), special)
    random_ids = ordinary[rng.integers(0, len(ordinary), ids.shape)]
    masked = ids.copy()
    masked[selected & (action < 0.8)] = mask_token_id
    swap = selected & (action >= 0.8) & (action < 0.9)
    masked[swap] = random_ids[swap]
    return masked, ids.copy(), selected.astype(np.float32)


def pack(token_lists, seq_len, cls_id, sep_id, pad_id=0):
    """``[CLS] tokens [SEP] [PAD]...`` for each list of ids, truncated to ``seq_len`` (an int32 array)."""
    if seq_len < 3:
        raise ValueError(f"seq_len must be at least 3 ([CLS], one token, [SEP]), got {seq_len}")
    out = np.full((len(token_lists), seq_len), pad_id, dtype=np.int32)
    for row, toks in enumerate(token_lists):
        toks = [cls_id] + list(np.asarray(toks, dtype=np.int64)[: seq_len - 2]) + [sep_id]
        out[row, : len(toks)] = toks
    return out


def chunk(token_lists, length):
    """Cut each list of ids into pieces of at most ``length`` ids (long texts give several pieces)."""
    if length < 1:
        raise ValueError(f"length must be positive, got {length}")
    return [np.asarray(t[i:i + length])
            for t in token_lists for i in range(0, max(len(t), 1), length) if len(t)]


def pack_stream(token_lists, seq_len, cls_id, sep_id, pad_id=0):
    """Pretraining rows with no wasted padding: all texts, each followed by ``[SEP]``, laid end to end and
    cut into rows of ``[CLS]`` + ``seq_len - 1`` ids (RoBERTa's "full sentences" packing). Only the last
    row is padded. Short texts would otherwise fill a row with ``[PAD]`` that costs compute and teaches
    nothing.
    """
    if seq_len < 3:
        raise ValueError(f"seq_len must be at least 3, got {seq_len}")
    stream = np.concatenate([np.append(np.asarray(t, dtype=np.int64), sep_id) for t in token_lists if len(t)])
    width = seq_len - 1
    rows = -(-len(stream) // width)
    body = np.full(rows * width, pad_id, dtype=np.int64)
    body[: len(stream)] = stream
    out = np.concatenate([np.full((rows, 1), cls_id), body.reshape(rows, width)], axis=1)
    return out.astype(np.int32)


def gather_predictions(masked_ids, labels, sample_weight, max_predictions):
    """Keep only the selected positions, as BERT does (``max_predictions_per_seq``).

    The MLM head then scores ``max_predictions`` positions per row instead of all of them (the output
    layer over the vocabulary is the most expensive part of a small model). Returns
    ``((masked_ids, positions), labels, weights)`` with ``positions``/``labels``/``weights`` of shape
    ``(batch, max_predictions)``; unused slots point at position 0 with weight 0. A row with more
    selected positions than ``max_predictions`` keeps its first ``max_predictions`` (choose it a few
    standard deviations above ``mask_rate * seq_len`` so that this is rare).
    """
    weight = np.asarray(sample_weight)
    if weight.shape != np.shape(masked_ids) or weight.shape != np.shape(labels) or weight.ndim != 2:
        raise ValueError(f"masked_ids, labels and sample_weight must share one 2-D shape, got "
                         f"{np.shape(masked_ids)}, {np.shape(labels)}, {weight.shape}")
    if not 0 < max_predictions <= weight.shape[1]:
        raise ValueError(f"max_predictions must be in [1, {weight.shape[1]}], got {max_predictions}")
    positions = np.argsort(-weight, axis=1, kind="stable")[:, :max_predictions]
    kept = np.take_along_axis(weight, positions, 1)
    positions = np.where(kept > 0, positions, 0).astype(np.int32)
    return ((np.asarray(masked_ids), positions), np.take_along_axis(np.asarray(labels), positions, 1),
            kept.astype(np.float32))


def shrink_vocabulary(token_lists, size, full_size, special_ids, unk_id):
    """Keep the ``size`` most frequent ids (specials first, in the given order); map the rest to ``[UNK]``.

    ``full_size`` is the big vocabulary's size. Returns ``(old_to_new, new_to_old)``: ``old_to_new[id]`` is
    the small-vocabulary id of a big-vocabulary id; ``new_to_old[j]`` is the big-vocabulary id of small id
    ``j`` (to decode predictions).
    """
    special_ids = [int(i) for i in special_ids]
    if unk_id not in special_ids:
        raise ValueError("unk_id must be one of special_ids")
    if size <= len(special_ids):
        raise ValueError(f"size must exceed the {len(special_ids)} special tokens, got {size}")
    flat = _check_ids(np.concatenate([np.asarray(t, dtype=np.int64) for t in token_lists]), full_size)
    counts = np.bincount(flat, minlength=full_size)
    counts[special_ids] = 0
    order = np.argsort(-counts, kind="stable")
    frequent = [int(i) for i in order[: size - len(special_ids)] if counts[i] > 0]
    new_to_old = np.array(special_ids + frequent, dtype=np.int64)
    old_to_new = np.full(full_size, special_ids.index(unk_id), dtype=np.int64)
    old_to_new[new_to_old] = np.arange(len(new_to_old))
    return old_to_new, new_to_old


class NeighbourTable:
    """A no-network baseline for masked-token prediction (chapter 6): guess from the two neighbours.

    ``fit`` counts, over the training rows, which middle token follows each (left, right) pair; ``predict``
    returns the most frequent middle token of a masked position's pair, or ``fallback`` (the most frequent
    token) for pairs never seen. If a model's masked-token accuracy stays below this table, it has not
    yet learned more than the local bigram statistics.
    """

    def __init__(self, vocab_size):
        self.vocab_size = int(vocab_size)
        self.best_mid, self.fallback = {}, None

    def fit(self, rows, ignore_below=0):
        """rows: (n, seq_len) integer ids. ``fallback`` = the most frequent id >= ``ignore_below``."""
        rows = _check_ids(rows, self.vocab_size, "rows").astype(np.int64)
        if rows.ndim != 2 or rows.shape[1] < 3:
            raise ValueError(f"rows must be 2-D with at least 3 columns, got shape {rows.shape}")
        v, n = self.vocab_size, rows.shape[1]
        left, mid, right = (rows[:, a:n - 2 + a].ravel() for a in (0, 1, 2))
        triples, counts = np.unique((left * v + right) * v + mid, return_counts=True)
        order = np.lexsort((-counts, triples // v))                  # by pair, most frequent middle first
        pairs, first = np.unique(triples[order] // v, return_index=True)
        self.best_mid = dict(zip(pairs.tolist(), (triples[order][first] % v).tolist()))
        flat = rows[rows >= ignore_below]
        self.fallback = int(np.bincount(flat, minlength=v).argmax())
        return self

    def predict(self, masked_ids, positions):
        """Guesses, shaped like ``positions``, for the masked rows (neighbours as a model sees them)."""
        if self.fallback is None:
            raise ValueError("call fit() before predict()")
        masked_ids = _check_ids(masked_ids, self.vocab_size, "masked_ids").astype(np.int64)
        positions = np.asarray(positions)
        if masked_ids.ndim != 2 or positions.ndim != 2 or len(positions) != len(masked_ids):
            raise ValueError(f"masked_ids and positions must be 2-D with the same number of rows, got "
                             f"{masked_ids.shape} and {positions.shape}")
        if positions.size and (positions.min() < 0 or positions.max() >= masked_ids.shape[1]):
            raise ValueError(f"positions must lie in [0, {masked_ids.shape[1]})")
        padded = np.pad(masked_ids, ((0, 0), (1, 1)))                # position p has neighbours p-1 and p+1
        keys = (np.take_along_axis(padded, positions, 1) * self.vocab_size
                + np.take_along_axis(padded, positions + 2, 1))
        return np.array([self.best_mid.get(k, self.fallback) for k in keys.ravel().tolist()],
                        dtype=np.int64).reshape(positions.shape)
