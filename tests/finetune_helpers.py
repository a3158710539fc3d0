"""Small inputs shared by the unit and integration tests of course_utils.finetune (chapter 6)."""
import keras
import numpy as np

from course_utils import finetune, text

TINY = dict(vocab_size=60, num_layers=1, num_heads=2, hidden_dim=8, ff_dim=16, max_length=12)


def _padded_rows(n, seq_len, seed=0):
    """n rows of [CLS]=2 ... [SEP]=3 with random lengths, padded at the end with 0."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, seq_len), "int32")
    for i, length in enumerate(rng.integers(2, seq_len + 1, n)):
        x[i, :length] = np.r_[2, rng.integers(4, 60, length - 2), 3]
    return x


class _MaskedRows(keras.utils.PyDataset):
    """A masked-LM PyDataset whose batch width changes from batch to batch (as in chapter 6's pretraining)."""

    def __init__(self, x, max_predictions):
        super().__init__()
        self.rows = finetune.LengthBatches(x, batch_size=8, seed=0, min_length=max_predictions)
        self.max_predictions, self.passes = max_predictions, 0

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        (rows,) = self.rows[i]
        masked = text.mask_tokens(rows, 1, 60, [0, 1, 2, 3], mask_rate=0.3, seed=(self.passes, i))
        return text.gather_predictions(*masked, self.max_predictions)

    def on_epoch_end(self):
        self.passes += 1
        self.rows.on_epoch_end()
