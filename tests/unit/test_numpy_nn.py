"""Tests for course_utils.numpy_nn (chapters 1 and 2)."""
import numpy as np
import pytest

from course_utils import checks
from course_utils import numpy_nn as nn

ACTS = ["sigmoid", "tanh", "relu", "identity"]


@pytest.mark.parametrize("name", ACTS)
def test_activation_derivatives(name):
    f, df = nn.ACTIVATIONS[name]
    z = np.linspace(-3, 3, 41) + 0.013  # avoid ReLU's kink at exactly 0
    eps = 1e-6
    np.testing.assert_allclose(df(z), (f(z + eps) - f(z - eps)) / (2 * eps), atol=1e-8)


def test_sigmoid_is_stable():
    assert np.all(np.isfinite(nn.sigmoid(np.array([-1000.0, 0.0, 1000.0]))))


def _flat_check(sizes, acts, loss, seed):
    rng = np.random.default_rng(seed)
    params = nn.init_mlp(sizes, seed=seed)
    X = rng.normal(size=(5, sizes[0]))
    y = rng.integers(0, sizes[-1], 5) if loss == "ce" else rng.normal(size=(5, sizes[-1]))
    flat = [a for wb in params for a in wb]

    def f(ps):
        pairs = list(zip(ps[0::2], ps[1::2]))
        value, grads = nn.loss_and_grads(pairs, X, y, acts, loss)
        return value, [g for wb in grads for g in wb]

    return checks.gradient_check(f, flat)


@pytest.mark.parametrize("seed", range(6))
def test_mlp_gradients_random_architectures(seed):
    rng = np.random.default_rng(100 + seed)
    depth = int(rng.integers(1, 4))
    sizes = [int(s) for s in rng.integers(2, 6, depth + 1)]
    acts = [str(a) for a in rng.choice(["sigmoid", "tanh", "relu"], depth - 1)] + ["identity"]
    assert _flat_check(sizes, acts, "ce" if seed % 2 else "mse", seed) < 1e-7


def test_softmax_cross_entropy_gradient_is_p_minus_y():
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 1000.0]])
    loss, grad = nn.softmax_cross_entropy(logits, np.array([2, 0]))
    assert np.isfinite(loss)
    p = nn.softmax(logits)
    np.testing.assert_allclose(grad * 2, p - np.eye(3)[[2, 0]])


def test_mismatched_shapes_name_both():
    params = nn.init_mlp([2, 3, 2])
    with pytest.raises(ValueError, match=r"\(4, 5\).*\(n, 2\)"):
        nn.forward(params, np.zeros((4, 5)), ["relu", "identity"])
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(4, 2\)"):
        nn.loss_and_grads(params, np.zeros((4, 2)), np.zeros((4, 3)), ["relu", "identity"])
    with pytest.raises(ValueError, match="unknown activation"):
        nn.forward(params, np.zeros((4, 2)), ["relu", "swish"])
    with pytest.raises(ValueError, match="2 layers but 1 activations"):
        nn.forward(params, np.zeros((4, 2)), ["relu"])


# ---------------------------------------------------------------- chapter 2: layers


def _layer_check(layer, x, seed=0):
    """Gradient-check a layer (params and input) through a random linear read-out."""
    r = np.random.default_rng(seed).normal(size=layer.forward(x).shape)

    def f(ps):
        out = layer.forward(x)
        layer.grads_in = layer.backward(r)
        return float(np.sum(out * r)), [g.copy() for g in layer.grads] + [layer.grads_in]

    return checks.gradient_check(f, list(layer.params) + [x])


@pytest.mark.parametrize("init", ["he", "xavier"])
def test_dense_gradients_and_init(init):
    layer = nn.Dense(4, 3, init=init, seed=1, dtype=np.float64)
    layer.b[...] = 0.1
    assert _layer_check(layer, np.random.default_rng(0).normal(size=(5, 4))) < 1e-8
    big = nn.Dense(400, 300, init=init, seed=0)
    expected = np.sqrt(2 / 400) if init == "he" else np.sqrt(2 / 700)
    assert big.W.std() == pytest.approx(expected, rel=0.02)


@pytest.mark.parametrize("make", [nn.ReLU, nn.Sigmoid, nn.Tanh])
def test_activation_layers(make):
    x = np.random.default_rng(0).normal(size=(4, 3)) + 0.01
    assert _layer_check(make(), x) < 1e-7


def test_dropout_train_and_inference():
    layer = nn.Dropout(0.5, seed=0)
    x = np.ones((200, 50))
    np.testing.assert_array_equal(layer.forward(x), x)  # inference: identity
    out = layer.forward(x, training=True)
    assert set(np.unique(out)) == {0.0, 2.0}
    assert out.mean() == pytest.approx(1.0, abs=0.05)  # inverted dropout keeps the mean
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), out)
    with pytest.raises(ValueError, match="rate"):
        nn.Dropout(1.0)


def test_losses():
    ce = nn.SoftmaxCrossEntropy()
    assert ce.forward(np.zeros((2, 4)), np.array([0, 3])) == pytest.approx(np.log(4))
    mse = nn.MSE()
    assert mse.forward(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]])) == pytest.approx(2.5)
    np.testing.assert_allclose(mse.backward(), [[1.0, 2.0]])


# ---------------------------------------------------------------- chapter 2: optimizers


def _run(opt, steps=3):
    w = np.array([1.0, -2.0])
    for t in range(steps):
        opt.step([w], [np.array([0.5, -1.0]) * (t + 1)])
    return w


def test_sgd_and_momentum():
    np.testing.assert_allclose(_run(nn.SGD(0.1)), [1 - 0.1 * 0.5 * 6, -2 + 0.1 * 6])
    # v1 = -.1g, v2 = .9 v1 - .2g, v3 = .9 v2 - .3g  (g = [0.5, -1]); w = w0 + v1 + v2 + v3
    v1 = -0.1
    v2 = 0.9 * v1 - 0.2
    v3 = 0.9 * v2 - 0.3
    np.testing.assert_allclose(_run(nn.Momentum(0.1, 0.9)), [1 + 0.5 * (v1 + v2 + v3), -2 - (v1 + v2 + v3)])


def test_rmsprop_by_hand():
    w = _run(nn.RMSprop(0.01), steps=1)
    g = np.array([0.5, -1.0])
    np.testing.assert_allclose(w, [1.0, -2.0] - 0.01 * g / np.sqrt(0.1 * g ** 2 + 1e-7))


def test_adam_first_step_is_lr_times_sign():
    w = _run(nn.Adam(0.01), steps=1)
    np.testing.assert_allclose(w, [1.0 - 0.01, -2.0 + 0.01], atol=1e-6)


def test_adam_bias_correction_many_steps():
    # constant gradient: m̂ = g and v̂ = g² exactly, so every step moves lr·g/(|g| + ε')
    opt, w = nn.Adam(0.001), np.array([0.0])
    for _ in range(50):
        opt.step([w], [np.array([2.0])])
    assert w[0] == pytest.approx(-0.05, rel=1e-5)


# ---------------------------------------------------------------- chapter 2: model


def _blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = (rng.normal(size=(n, 2)) + 3 * np.eye(3)[y][:, :2] - 1.5 * (y == 2)[:, None]).astype(np.float32)
    return x, y


def test_sequential_learns_and_evaluates():
    from sklearn.metrics import precision_recall_fscore_support

    x, y = _blobs()
    layers = [nn.Dense(2, 16, seed=0), nn.ReLU(), nn.Dense(16, 3, seed=1)]
    model = nn.Sequential(layers).compile(nn.Adam(0.01))
    hist = model.fit(x, y, epochs=15, batch_size=32, validation_data=(x, y), verbose=False)
    assert set(hist) == {"loss", "accuracy", "val_loss", "val_accuracy"} and len(hist["loss"]) == 15
    assert hist["loss"][-1] < hist["loss"][0]
    res = model.evaluate(x, y)
    assert res["accuracy"] > 0.9
    pred = model.predict(x).argmax(1)
    p, r, f, _ = precision_recall_fscore_support(y, pred, average="macro", zero_division=0)
    assert (res["precision"], res["recall"], res["f1"]) == pytest.approx((p, r, f))


def test_fit_bad_inputs():
    x, y = _blobs(20)
    model = nn.Sequential([nn.Dense(2, 3)]).compile(nn.SGD())
    with pytest.raises(ValueError, match="20 samples but y has 19"):
        model.fit(x, y[:19], verbose=False)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        model.fit(x, y + 1, verbose=False)
    with pytest.raises(ValueError, match="integers"):
        model.fit(x, y.astype(float), verbose=False)
    with pytest.raises(ValueError, match="2-D input"):
        model.predict(x.reshape(20, 2, 1))
    with pytest.raises(ValueError, match="init"):
        nn.Dense(2, 3, init="zeros")


def test_fit_regression_with_mse_and_verbose(capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32))
    model = nn.Sequential([nn.Dense(3, 8, init="xavier"), nn.Tanh(), nn.Dense(8, 1, init="xavier")])
    model.compile(nn.Momentum(0.05), loss=nn.MSE())
    hist = model.fit(x, y, epochs=20, batch_size=20, validation_data=(x, y), verbose=2)
    assert set(hist) == {"loss", "val_loss"}
    assert hist["loss"][-1] < 0.1 * hist["loss"][0]
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 20 and lines[0].startswith("epoch 1/20: loss")
    assert "accuracy" not in model.evaluate(x, y)


@pytest.mark.parametrize("make", [lambda: nn.SGD(0.5), lambda: nn.RMSprop(0.01), lambda: nn.Adam(0.01)])
def test_every_optimizer_trains(make):
    x, y = _blobs()
    model = nn.Sequential([nn.Dense(2, 16, seed=0), nn.ReLU(), nn.Dense(16, 3, seed=1)]).compile(make())
    first = model.evaluate(x, y)["loss"]
    model.fit(x, y, epochs=5, batch_size=32, verbose=0)
    assert model.evaluate(x, y)["loss"] < 0.5 * first
