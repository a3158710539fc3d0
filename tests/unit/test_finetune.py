"""Unit tests for course_utils.finetune (chapter 6): schedule, length-grouped batches, prediction order."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils import bert, finetune, text  # noqa: E402
from tests.finetune_helpers import TINY, _MaskedRows, _padded_rows  # noqa: E402


def test_encode_texts_matches_pack():
    class Tok:  # a stand-in tokenizer: one id per word, [CLS] = 2, [SEP] = 3
        def token_to_id(self, t):
            return {"[CLS]": 2, "[SEP]": 3}[t]

        def __call__(self, texts):
            return [[len(w) + 10 for w in t.split()] for t in texts]

    got = finetune.encode_texts(["a bb", "ccc"], Tok(), seq_len=5)
    assert got.tolist() == [[2, 11, 12, 3, 0], [2, 13, 3, 0, 0]]
    assert np.array_equal(got, text.pack([np.array([11, 12]), np.array([13])], 5, 2, 3))


def test_warmup_linear_decay():
    s = finetune.WarmupLinearDecay(1e-3, 10, 110)
    got = [float(s(step)) for step in (0, 5, 10, 60, 110, 200)]
    np.testing.assert_allclose(got, [0, 5e-4, 1e-3, 5e-4, 0, 0], atol=1e-9)
    with pytest.raises(ValueError, match="warmup_steps"):
        finetune.WarmupLinearDecay(1e-3, 10, 10)


def test_length_batches_training_order():
    x = _padded_rows(100, 12)
    y = np.arange(100)
    batches = finetune.LengthBatches(x, y, batch_size=8, seed=0, pool=4)
    assert len(batches) == 13
    epochs = []
    for _ in range(2):
        rows = []
        for i in range(len(batches)):
            xb, yb = batches[i]
            assert np.array_equal(xb, x[yb, :xb.shape[1]])             # pairs kept together, columns cut
            assert xb.shape[1] == (x[yb] != 0).sum(1).max()            # cut to the longest row of the batch
            assert not (x[yb, xb.shape[1]:] != 0).any()                # only padding was cut
            rows.append(yb)
        epochs.append(np.concatenate(rows))
        batches.on_epoch_end()
    for order in epochs:                                               # every row once per epoch
        assert sorted(order) == list(range(100))
    assert not np.array_equal(*epochs)                                 # a new order every epoch
    width = sum(batches[i][0].size for i in range(len(batches)))
    assert width < 0.8 * x.size                                        # far less padding than (100, 12)
    again = finetune.LengthBatches(x, y, batch_size=8, seed=0, pool=4)
    assert np.array_equal(again[0][1], finetune.LengthBatches(x, y, batch_size=8, seed=0, pool=4)[0][1])


def test_length_batches_evaluation_order_and_keras_hub_inputs():
    x = np.array([[2, 5, 3, 0], [2, 3, 0, 0], [2, 5, 6, 3]])
    batches = finetune.LengthBatches(x, batch_size=2, shuffle=False)       # the docstring's example
    assert [batches[i][0].shape for i in range(len(batches))] == [(2, 3), (1, 4)]   # inputs only: 1-tuples
    assert batches.order.tolist() == [1, 0, 2]
    hub = finetune.LengthBatches(x, np.array([0, 1, 1]), batch_size=2, shuffle=False, keras_hub=True)
    inputs, labels = hub[0]
    assert sorted(inputs) == ["padding_mask", "segment_ids", "token_ids"] and labels.tolist() == [1, 0]
    assert np.array_equal(inputs["padding_mask"], inputs["token_ids"] != 0)
    assert not inputs["segment_ids"].any()
    ds = hub.as_tf_dataset()
    assert int(ds.cardinality()) == len(hub) == 2 and ds.options().autotune.enabled is False
    first = next(iter(ds))
    assert np.array_equal(first[0]["token_ids"].numpy(), inputs["token_ids"])
    assert first[1].numpy().tolist() == [1, 0]


def test_length_batches_bad_input():
    x = np.array([[2, 5, 3, 0], [2, 3, 0, 0]])
    with pytest.raises(ValueError, match="rows but y has"):
        finetune.LengthBatches(x, np.zeros(3))
    with pytest.raises(ValueError, match="2-D array of token ids"):
        finetune.LengthBatches(x[0])
    with pytest.raises(ValueError, match="2-D array of token ids"):
        finetune.LengthBatches(x.astype("float32"))
    with pytest.raises(ValueError, match="padded at the end"):
        finetune.LengthBatches(np.array([[0, 2, 3]]))
    with pytest.raises(ValueError, match="at least 1"):
        finetune.LengthBatches(x, batch_size=0)
    with pytest.raises(ValueError, match="no rows"):
        finetune.LengthBatches(np.zeros((0, 4), "int32"))
    with pytest.raises(ValueError, match="min_length must be in"):
        finetune.LengthBatches(x, min_length=5)
    batch = finetune.LengthBatches(x, batch_size=1, shuffle=False, min_length=3)[0]
    assert batch[0].shape == (1, 3)   # 2 real


def test_predict_logits_equals_padded_predict():
    model = bert.build_classifier(bert.build_bert(**TINY, dropout=0.0))
    x = _padded_rows(40, 12, seed=1)
    got = finetune.predict_logits(model, x, batch_size=8)
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5)   # padding only cost time


def test_batches_as_dataset_bad_input():
    with pytest.raises(TypeError, match="PyDataset"):
        finetune.batches_as_dataset([np.zeros((2, 3))])
    with pytest.raises(ValueError, match="no batches"):
        empty = type("Empty", (_MaskedRows,), {"__len__": lambda _: 0})
        finetune.batches_as_dataset(empty(_padded_rows(8, 12), 3))
