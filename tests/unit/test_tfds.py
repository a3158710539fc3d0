import socket
import time

import pytest

from course_utils import data


def test_online_branch_with_mock_data(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=4):
        ds = data.load_tfds("cifar10", split="train", data_dir=str(tmp_path))
        x, y = next(iter(ds))
    assert tuple(x.shape) == (32, 32, 3) and 0 <= int(y) < 10


def test_offline_branch_fails_fast(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network unreachable (simulated)")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    t0 = time.time()
    with pytest.raises(data.OfflineError, match="unreachable.*load_fashion_mnist"):
        data.load_tfds("cifar10", split="train", data_dir=str(tmp_path))
    assert time.time() - t0 < 10
    assert data.network_available() is False
