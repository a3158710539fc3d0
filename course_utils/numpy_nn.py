"""A neural network in plain NumPy (chapter 1: backprop by hand; chapter 2: a small framework).

Part 1 (chapter 1) is functional: activations with their derivatives, losses that return
``(loss, gradient)``, and ``forward``/``backward`` for an MLP stored as a list of ``(W, b)``.
Part 2 (chapter 2) wraps the same maths in layer objects, optimizers and a ``Sequential`` model.

Convention (as in Keras): a batch ``X`` has shape ``(n, features)``, ``W`` has shape
``(inputs, outputs)`` and a layer computes ``Z = X @ W + b``.
"""
import time

import numpy as np

# ----------------------------------------------------------------- part 1: functions (chapter 1)


def sigmoid(z):
    # Two branches so that exp never overflows.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


ACTIVATIONS = {  # name -> (f, f') with f' written in terms of z
    "identity": (lambda z: z, lambda z: np.ones_like(z)),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(z.dtype)),
    "sigmoid": (sigmoid, lambda z: sigmoid(z) * (1 - sigmoid(z))),
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
}


def _activation(name):
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def mse_loss(pred, target):
    """Mean over the batch of ½‖pred − target‖²; returns ``(loss, dloss/dpred)``."""
    pred, target = np.asarray(pred), np.asarray(target)
    if pred.shape != target.shape:
        raise ValueError(f"y has shape {target.shape} but the network output has shape {pred.shape}")
    n = pred.shape[0]
    diff = pred - target
    return 0.5 * np.sum(diff ** 2) / n, diff / n


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)  # same result, no overflow
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _check_labels(labels, n, k):
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise ValueError(f"labels must have shape ({n},) to match the logits, got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
    if n and (labels.min() < 0 or labels.max() >= k):
        raise ValueError(f"labels must lie in [0, {k}), got values in [{labels.min()}, {labels.max()}]")
    return labels


def softmax_cross_entropy(logits, labels):
    """Mean cross-entropy of softmax(logits) against integer labels; returns ``(loss, (p − onehot)/n)``."""
    logits = np.asarray(logits)
    n, k = logits.shape
    labels = _check_labels(labels, n, k)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # log-softmax, stable
    loss = -log_p[np.arange(n), labels].mean()
    grad = np.exp(log_p)
    grad[np.arange(n), labels] -= 1
    return loss, grad / n


def init_mlp(sizes, seed=0, dtype=np.float64):
    """He-scaled random weights for layer sizes like ``[2, 16, 16, 2]``: a list of ``(W, b)``."""
    rng = np.random.default_rng(seed)
    return [(rng.normal(0, np.sqrt(2 / a), (a, b)).astype(dtype), np.zeros(b, dtype))
            for a, b in zip(sizes[:-1], sizes[1:])]


def forward(params, X, activations):
    """Run the MLP; ``activations`` has one name per layer. Returns ``(output, cache)``."""
    X = np.asarray(X)
    if len(activations) != len(params):
        raise ValueError(f"{len(params)} layers but {len(activations)} activations")
    if X.ndim != 2 or X.shape[1] != params[0][0].shape[0]:
        raise ValueError(f"x has shape {X.shape} but the first layer expects (n, {params[0][0].shape[0]}) "
                         f"(W1 has shape {params[0][0].shape})")
    a, cache = X, []
    for (W, b), name in zip(params, activations):
        z = a @ W + b
        cache.append((a, z))
        a = _activation(name)[0](z)
    return a, cache


def backward(params, cache, dout, activations):
    """Given dL/d(output), return ``[(dW, db), ...]`` by the chain rule, last layer first."""
    grads = []
    delta_a = dout
    for (W, b), (a_prev, z), name in reversed(list(zip(params, cache, activations))):
        delta = delta_a * _activation(name)[1](z)  # dL/dz = dL/da * f'(z), elementwise
        grads.append((a_prev.T @ delta, delta.sum(axis=0)))
        delta_a = delta @ W.T  # sum over every unit this layer feeds
    return grads[::-1]


def loss_and_grads(params, X, y, activations, loss="mse"):
    """Forward, loss and backward in one call: ``(loss, [(dW, db), ...])``."""
    out, cache = forward(params, X, activations)
    value, dout = mse_loss(out, y) if loss == "mse" else softmax_cross_entropy(out, y)
    return value, backward(params, cache, dout, activations)


# ------------------------------------------------------------ part 2: a framework (chapter 2)


class Layer:
    """The protocol: ``forward(x, training)``, ``backward(grad) -> grad wrt x``, ``params``, ``grads``."""
    params, grads = [], []

    def forward(self, x, training=False):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError


class Dense(Layer):
    """``x @ W + b``. ``init="he"`` (for ReLU) or ``"xavier"`` (Glorot uniform, for tanh/sigmoid)."""

    def __init__(self, n_in, n_out, init="he", seed=0, dtype=np.float32):
        rng = np.random.default_rng(seed)
        if init == "he":
            W = rng.normal(0, np.sqrt(2 / n_in), (n_in, n_out))
        elif init == "xavier":
            limit = np.sqrt(6 / (n_in + n_out))
            W = rng.uniform(-limit, limit, (n_in, n_out))
        else:
            raise ValueError(f"init must be 'he' or 'xavier', got {init!r}")
        self.W, self.b = W.astype(dtype), np.zeros(n_out, dtype)
        self.params = [self.W, self.b]
        self.grads = [np.zeros_like(self.W), np.zeros_like(self.b)]

    def forward(self, x, training=False):
        if x.ndim != 2 or x.shape[1] != self.W.shape[0]:
            raise ValueError(f"Dense expects a 2-D input (n, {self.W.shape[0]}), got shape {x.shape}")
        self.x = x
        return x @ self.W + self.b

    def backward(self, grad):
        self.grads[0][...] = self.x.T @ grad  # in place: optimizers hold these arrays
        self.grads[1][...] = grad.sum(axis=0)
        return grad @ self.W.T


class Activation(Layer):
    def __init__(self, name):
        self.f, self.df = _activation(name)

    def forward(self, x, training=False):
        self.z = x
        return self.f(x)

    def backward(self, grad):
        return grad * self.df(self.z)


def ReLU():
    return Activation("relu")


def Sigmoid():
    return Activation("sigmoid")


def Tanh():
    return Activation("tanh")


class Dropout(Layer):
    """Inverted dropout: zero a fraction ``rate`` while training, scale the rest by 1/(1 − rate)."""

    def __init__(self, rate, seed=0):
        if not 0 <= rate < 1:
            raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
        self.rate, self.rng = rate, np.random.default_rng(seed)

    def forward(self, x, training=False):
        if not training or self.rate == 0:
            self.mask = None
            return x
        self.mask = (self.rng.random(x.shape) >= self.rate).astype(x.dtype) / (1 - self.rate)
        return x * self.mask

    def backward(self, grad):
        return grad if self.mask is None else grad * self.mask


class SoftmaxCrossEntropy:
    """Loss on logits with integer labels (Keras: SparseCategoricalCrossentropy(from_logits=True))."""

    def forward(self, logits, labels):
        loss, self.grad = softmax_cross_entropy(logits, labels)
        return loss

    def backward(self):
        return self.grad


class MSE:
    def forward(self, pred, target):
        loss, self.grad = mse_loss(pred, target)
        return loss

    def backward(self):
        return self.grad


# Optimizers: one update rule each, written like Keras 3 writes it (same defaults, same epsilon).
class SGD:
    def __init__(self, learning_rate=0.01):
        self.lr = learning_rate

    def step(self, params, grads):
        for p, g in zip(params, grads):
            p -= self.lr * g


class Momentum:
    """v ← μv − ηg;  w ← w + v  (Keras ``SGD(momentum=μ)``)."""

    def __init__(self, learning_rate=0.01, momentum=0.9):
        self.lr, self.mu, self.v = learning_rate, momentum, {}

    def step(self, params, grads):
        for i, (p, g) in enumerate(zip(params, grads)):
            v = self.v.setdefault(i, np.zeros_like(p))
            v *= self.mu
            v -= self.lr * g
            p += v


class RMSprop:
    """s ← ρs + (1 − ρ)g²;  w ← w − ηg / √(s + ε)  (Keras puts ε inside the root)."""

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7):
        self.lr, self.rho, self.eps, self.s = learning_rate, rho, epsilon, {}

    def step(self, params, grads):
        for i, (p, g) in enumerate(zip(params, grads)):
            s = self.s.setdefault(i, np.zeros_like(p))
            s *= self.rho
            s += (1 - self.rho) * g * g
            p -= self.lr * g / np.sqrt(s + self.eps)


class Adam:
    """Kingma & Ba (2014), with bias correction folded into the step size as in Keras."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        self.lr, self.b1, self.b2, self.eps = learning_rate, beta_1, beta_2, epsilon
        self.t, self.m, self.v = 0, {}, {}

    def step(self, params, grads):
        self.t += 1
        # a Python float keeps float32 arrays float32
        alpha = float(self.lr * np.sqrt(1 - self.b2 ** self.t) / (1 - self.b1 ** self.t))
        for i, (p, g) in enumerate(zip(params, grads)):
            m = self.m.setdefault(i, np.zeros_like(p))
            v = self.v.setdefault(i, np.zeros_like(p))
            m += (1 - self.b1) * (g - m)
            v += (1 - self.b2) * (g * g - v)
            p -= alpha * m / (np.sqrt(v) + self.eps)


def precision_recall_f1(y_true, y_pred, num_classes):
    """Per-class precision, recall and F1 (0 where undefined), as three arrays."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    tp = np.bincount(y_true[y_true == y_pred], minlength=num_classes).astype(float)
    predicted = np.bincount(y_pred, minlength=num_classes)
    actual = np.bincount(y_true, minlength=num_classes)
    precision = np.divide(tp, predicted, out=np.zeros(num_classes), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros(num_classes), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(num_classes), where=denom > 0)
    return precision, recall, f1


class Sequential:
    """A stack of layers, a loss and an optimizer, with a Keras-like ``fit``/``evaluate``/``predict``."""

    def __init__(self, layers):
        self.layers = list(layers)

    @property
    def params(self):
        return [p for layer in self.layers for p in layer.params]

    @property
    def grads(self):
        return [g for layer in self.layers for g in layer.grads]

    def compile(self, optimizer, loss=None):
        self.optimizer, self.loss = optimizer, loss or SoftmaxCrossEntropy()
        return self

    def forward(self, x, training=False):
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, grad):
        for layer in reversed(self.layers):
            grad = layer.backward(grad)

    def train_step(self, x, y):
        """One forward + backward + update on a batch; returns the batch loss (before the update)."""
        self.last_output = self.forward(x, training=True)
        loss = self.loss.forward(self.last_output, y)
        self.backward(self.loss.backward())
        self.optimizer.step(self.params, self.grads)
        return float(loss)

    def _check_xy(self, x, y):
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} samples but y has {len(y)}")
        if isinstance(self.loss, SoftmaxCrossEntropy):
            k = [layer for layer in self.layers if isinstance(layer, Dense)][-1].W.shape[1]
            _check_labels(y, len(y), k)

    def fit(self, x, y, epochs=1, batch_size=32, validation_data=None, seed=0, verbose=1):
        """Mini-batch training with reshuffling every epoch; returns a Keras-style history dict.

        ``verbose``: 0 silent, 1 a progress bar and one line per epoch, 2 one line per epoch.
        """
        from tqdm.auto import tqdm

        self._check_xy(x, y)
        rng = np.random.default_rng(seed)
        classifier = isinstance(self.loss, SoftmaxCrossEntropy)
        history = {"loss": [], "accuracy": []} if classifier else {"loss": []}
        if validation_data is not None:
            self._check_xy(*validation_data)
            history.update({"val_" + key: [] for key in list(history)})
        steps = int(np.ceil(len(x) / batch_size))
        for epoch in range(epochs):
            order = rng.permutation(len(x))
            bar = tqdm(range(steps), desc=f"epoch {epoch + 1}/{epochs}", disable=verbose != 1, leave=False)
            total, correct, start = 0.0, 0, time.perf_counter()
            for s in bar:
                idx = order[s * batch_size:(s + 1) * batch_size]
                total += self.train_step(x[idx], y[idx]) * len(idx)
                if classifier:  # running accuracy over the epoch, as Keras reports it
                    correct += int(np.sum(self.last_output.argmax(axis=1) == y[idx]))
            history["loss"].append(total / len(x))
            line = f"epoch {epoch + 1}/{epochs}: loss {history['loss'][-1]:.4f}"
            if classifier:
                history["accuracy"].append(correct / len(x))
                line += f", accuracy {history['accuracy'][-1]:.4f}"
            if validation_data is not None:
                val = self.evaluate(*validation_data, batch_size=4096)
                for key in ("loss", "accuracy"):
                    if key in val:
                        history["val_" + key].append(val[key])
                        line += f", val_{key} {val[key]:.4f}"
            if verbose:
                print(line + f" ({time.perf_counter() - start:.1f} s)")
        return history

    def predict(self, x, batch_size=4096):
        """Network outputs (logits for a classifier) in inference mode."""
        return np.concatenate([self.forward(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])

    def evaluate(self, x, y, batch_size=4096):
        """Loss, accuracy and macro-averaged precision, recall and F1 (classifiers)."""
        self._check_xy(x, y)
        out = self.predict(x, batch_size)
        result = {"loss": float(self.loss.forward(out, y))}
        if isinstance(self.loss, SoftmaxCrossEntropy):
            pred = out.argmax(axis=1)
            p, r, f = precision_recall_f1(y, pred, out.shape[1])
            result.update(accuracy=float(np.mean(pred == y)), precision=float(p.mean()),
                          recall=float(r.mean()), f1=float(f.mean()))
        return result
