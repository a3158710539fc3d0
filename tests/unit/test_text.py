"""Tests for course_utils.text (chapter 6): MLM masking, packing, the small vocabulary."""
import numpy as np
import pytest

from course_utils import text

PAD, UNK, CLS, SEP, MASK = 0, 1, 2, 3, 4
SPECIAL = [PAD, UNK, CLS, SEP, MASK]
V = 1000


def _batch(n=400, length=64, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, V, (n, length))
    ids[:, 0] = CLS
    lengths = rng.integers(10, length, n)
    for row, end in enumerate(lengths):
        ids[row, end] = SEP
        ids[row, end + 1:] = PAD
    return ids


def test_mask_tokens_proportions_and_specials():
    ids = _batch()
    masked, labels, weight = text.mask_tokens(ids, MASK, V, SPECIAL, mask_rate=0.15, seed=1)
    assert masked.shape == labels.shape == weight.shape == ids.shape
    np.testing.assert_array_equal(labels, ids)
    selected = weight == 1
    eligible = ~np.isin(ids, SPECIAL)
    assert not selected[~eligible].any()          # specials and padding never selected
    np.testing.assert_array_equal(masked[~selected], ids[~selected])  # unselected positions untouched
    assert abs(selected.sum() / eligible.sum() - 0.15) < 0.01
    n = selected.sum()
    to_mask = (masked[selected] == MASK).sum() / n
    kept = (masked[selected] == ids[selected]).sum() / n
    assert abs(to_mask - 0.8) < 0.02 and abs(kept - 0.1) < 0.02
    assert not np.isin(masked[selected & (masked != MASK)], SPECIAL).any()  # random tokens are ordinary


def test_mask_tokens_is_seeded():
    ids = _batch(20)
    a = text.mask_tokens(ids, MASK, V, SPECIAL, seed=3)
    b = text.mask_tokens(ids, MASK, V, SPECIAL, seed=3)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("rate", [0.0, 1.0, -0.1, 1.5])
def test_mask_tokens_bad_rate(rate):
    with pytest.raises(ValueError, match="mask_rate"):
        text.mask_tokens(_batch(2), MASK, V, SPECIAL, mask_rate=rate)


def test_mask_tokens_bad_ids():
    with pytest.raises(ValueError, match="must lie in"):
        text.mask_tokens(np.array([[2, V, 3]]), MASK, V, SPECIAL)
    with pytest.raises(ValueError, match="must lie in"):
        text.mask_tokens(np.array([[2, -1, 3]]), MASK, V, SPECIAL)
    with pytest.raises(ValueError, match="integer"):
        text.mask_tokens(np.array([[2.0, 7.0, 3.0]]), MASK, V, SPECIAL)
    with pytest.raises(ValueError, match="mask_token_id"):
        text.mask_tokens(_batch(2), V + 3, V, SPECIAL)


def test_pack_and_chunk():
    packed = text.pack([[10, 11, 12], list(range(20, 40))], seq_len=6, cls_id=CLS, sep_id=SEP)
    np.testing.assert_array_equal(packed, [[CLS, 10, 11, 12, SEP, PAD], [CLS, 20, 21, 22, 23, SEP]])
    assert packed.dtype == np.int32
    pieces = text.chunk([list(range(7)), [], [1]], 3)
    assert [p.tolist() for p in pieces] == [[0, 1, 2], [3, 4, 5], [6], [1]]
    with pytest.raises(ValueError, match="seq_len"):
        text.pack([[1]], 2, CLS, SEP)
    with pytest.raises(ValueError, match="length"):
        text.chunk([[1]], 0)


def test_shrink_vocabulary():
    lists = [[9, 9, 9, 7, 7, 8, 2], [9, 7, 6]]
    old_to_new, new_to_old = text.shrink_vocabulary(lists, 7, 10, SPECIAL, UNK)
    assert new_to_old.tolist() == [0, 1, 2, 3, 4, 9, 7]
    assert old_to_new[9] == 5 and old_to_new[7] == 6 and old_to_new[8] == UNK and old_to_new[6] == UNK
    np.testing.assert_array_equal(old_to_new[new_to_old], np.arange(7))
    with pytest.raises(ValueError, match="size"):
        text.shrink_vocabulary(lists, 5, 10, SPECIAL, UNK)
    with pytest.raises(ValueError, match="unk_id"):
        text.shrink_vocabulary(lists, 8, 10, [0, 2], UNK)
    with pytest.raises(ValueError, match="must lie in"):
        text.shrink_vocabulary([[12]], 8, 10, SPECIAL, UNK)


def test_pack_stream_fills_rows():
    rows = text.pack_stream([[10, 11], [12], [], [13, 14, 15]], seq_len=4, cls_id=CLS, sep_id=SEP)
    np.testing.assert_array_equal(rows, [[CLS, 10, 11, SEP], [CLS, 12, SEP, 13], [CLS, 14, 15, SEP]])
    rows = text.pack_stream([[10, 11, 12]], seq_len=4, cls_id=CLS, sep_id=SEP)
    np.testing.assert_array_equal(rows, [[CLS, 10, 11, 12], [CLS, SEP, PAD, PAD]])
    assert rows.dtype == np.int32
    with pytest.raises(ValueError):
        text.pack_stream([[1]], 2, CLS, SEP)


def test_gather_predictions_keeps_selected_positions():
    ids = np.arange(5, 25).reshape(2, 10)
    masked, labels, weight = text.mask_tokens(ids, 4, 30, [0, 1, 2, 3, 4], mask_rate=0.3, seed=0)
    (m, pos), lab, w = text.gather_predictions(masked, labels, weight, 8)
    assert m is masked or np.array_equal(m, masked)
    assert pos.shape == lab.shape == w.shape == (2, 8)
    for r in range(2):
        sel = np.flatnonzero(weight[r])
        assert w[r].sum() == len(sel)
        np.testing.assert_array_equal(np.sort(pos[r][w[r] > 0]), sel)
        np.testing.assert_array_equal(lab[r][w[r] > 0], ids[r][pos[r][w[r] > 0]])
        assert np.all(pos[r][w[r] == 0] == 0)


def test_gather_predictions_bad_input():
    z = np.zeros((2, 5), np.int32)
    with pytest.raises(ValueError, match="share one 2-D shape"):
        text.gather_predictions(z, z, np.zeros((2, 4)), 2)
    with pytest.raises(ValueError, match="max_predictions"):
        text.gather_predictions(z, z, np.zeros((2, 5)), 6)


def test_neighbour_table_learns_pairs_and_falls_back():
    rows = np.array([[2, 5, 6, 7, 3], [2, 5, 6, 7, 3], [2, 5, 8, 7, 3], [2, 9, 9, 9, 9]])
    table = text.NeighbourTable(10).fit(rows, ignore_below=5)
    assert table.fallback == 9                       # 9 appears 4 times, more than any other id >= 5
    masked = np.array([[2, 5, 4, 7, 3], [2, 4, 4, 4, 3]])
    guess = table.predict(masked, np.array([[2, 0], [2, 1]]))
    assert guess[0, 0] == 6                          # (5, 7) was followed by 6 twice, by 8 once
    assert guess[1, 0] == 9 and guess[1, 1] == 9     # unseen pairs (4, 4) and (2, 4) -> fallback
    assert guess[0, 1] == 9                          # position 0: left neighbour is padding, unseen


def test_neighbour_table_bad_input():
    table = text.NeighbourTable(10)
    with pytest.raises(ValueError, match="fit"):
        table.predict(np.zeros((1, 4), int), np.zeros((1, 1), int))
    with pytest.raises(ValueError, match="integer"):
        table.fit(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="at least 3"):
        table.fit(np.zeros((2, 2), int))
    table.fit(np.ones((2, 5), int))
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        table.predict(np.full((1, 4), 12), np.zeros((1, 1), int))
    with pytest.raises(ValueError, match="positions"):
        table.predict(np.zeros((1, 4), int), np.full((1, 1), 4))
