"""Chapter 5 (VAE generation on MNIST): the pieces of a variational autoencoder.

* :class:`Sampling` -- the reparameterization ``z = mean + exp(0.5 * log_var) * eps``.
* :func:`kl_divergence_normal` -- KL(N(mean, diag(exp(log_var))) || N(0, I)) in closed form,
  and :func:`kl_monte_carlo`, the same quantity estimated by sampling (to check it).
* :func:`bernoulli_nll` -- -log p(x | logits) for binary pixels, summed per image.
* :class:`VAE` -- an MLP VAE with a Bernoulli decoder, trained with ``fit``: its own
  ``train_step``/``test_step`` report the negative ELBO (``loss``), ``reconstruction`` and ``kl``
  through :meth:`VAE.report_metrics`; optional KL warm-up and an output bias set from the mean image.
* :func:`check_images` -- the input check shared by the VAE and the IWAE estimate.
* :func:`iwae_log_likelihood` -- the importance-weighted estimate of log p(x) (Burda et al., 2015).

All log-likelihoods are in nats per image.
"""
import math

import keras
import numpy as np
from keras import ops

__all__ = ["Sampling", "kl_divergence_normal", "kl_monte_carlo", "log_normal_diag",
           "bernoulli_nll", "bce_from_logits", "binarize", "check_images", "VAE", "iwae_log_likelihood"]

LOG_2PI = math.log(2.0 * math.pi)


def _same_shape(mean, log_var):
    if tuple(mean.shape) != tuple(log_var.shape):
        raise ValueError(f"log_var must have the same shape as mean, got {tuple(log_var.shape)} "
                         f"and {tuple(mean.shape)}")


def kl_divergence_normal(mean, log_var):
    """KL(q || p) for q = N(mean, diag(exp(log_var))), p = N(0, I), summed over the last axis.

    0.5 * sum(mean^2 + exp(log_var) - 1 - log_var): zero exactly when mean = 0 and log_var = 0.
    """
    mean, log_var = ops.convert_to_tensor(mean), ops.convert_to_tensor(log_var)
    _same_shape(mean, log_var)
    return 0.5 * ops.sum(ops.square(mean) + ops.exp(log_var) - 1.0 - log_var, axis=-1)


def _log_normal(z, mean, log_var, xp):
    """log N(z; mean, diag(exp(log_var))) summed over the last axis, with ``xp`` = ``keras.ops`` or NumPy:
    the one copy of the Gaussian log-density (the analytic KL is its expectation)."""
    return -0.5 * xp.sum(LOG_2PI + log_var + xp.square(z - mean) * xp.exp(-log_var), axis=-1)


def log_normal_diag(z, mean, log_var):
    """log N(z; mean, diag(exp(log_var))), summed over the last axis."""
    return _log_normal(z, mean, log_var, ops)


def kl_monte_carlo(mean, log_var, num_samples=10_000, seed=0):
    """Monte Carlo estimate of :func:`kl_divergence_normal`: mean of log q(z) - log p(z), z ~ q."""
    mean = np.asarray(mean, dtype="float64")
    log_var = np.asarray(log_var, dtype="float64")
    _same_shape(mean, log_var)
    eps = np.random.default_rng(seed).standard_normal((num_samples,) + mean.shape)
    z = mean + np.exp(0.5 * log_var) * eps
    log_q = _log_normal(z, mean, log_var, np)
    log_p = _log_normal(z, 0.0, 0.0, np)
    return np.mean(log_q - log_p, axis=0)


def bce_from_logits(x, logits):
    """Per-image sum of the Bernoulli negative log-likelihood (stable: softplus(l) - x * l).

    The tensor version without input checks, for use inside a training step; :func:`bernoulli_nll` checks
    its inputs first."""
    nll = ops.softplus(logits) - x * logits
    return ops.sum(ops.reshape(nll, (ops.shape(nll)[0], -1)), axis=-1)


def bernoulli_nll(x, logits):
    """-log p(x | logits) in nats per image for pixels x in [0, 1] (a Bernoulli decoder).

    Raises ValueError if x lies outside [0, 1] or the shapes differ.
    """
    x_np = check_images(x)
    if x_np.shape != tuple(logits.shape):
        raise ValueError(f"x has shape {x_np.shape} but logits have {tuple(logits.shape)}")
    return bce_from_logits(ops.convert_to_tensor(x_np), ops.convert_to_tensor(logits, "float32"))


def check_images(x, image_shape=None):
    """``x`` as float32 after checking that its pixels lie in [0, 1] and, when ``image_shape`` is given,
    that it is a batch of images of that shape; raises ValueError otherwise."""
    x = np.asarray(x, dtype="float32")
    if image_shape is not None and x.shape[1:] != tuple(image_shape):
        raise ValueError(f"expected a batch of images of shape {tuple(image_shape)}, got an array of shape "
                         f"{x.shape}")
    if x.size and (x.min() < 0.0 or x.max() > 1.0):
        raise ValueError(f"images must have pixels in [0, 1], got values in [{x.min():g}, {x.max():g}] "
                         f"(divide uint8 images by 255)")
    return x


def binarize(images, seed=0):
    """Stochastic binarization: pixel = 1 with probability equal to its intensity in [0, 1]."""
    images = check_images(images)
    return (np.random.default_rng(seed).random(images.shape) < images).astype("float32")


@keras.saving.register_keras_serializable(package="course")
class Sampling(keras.layers.Layer):
    """z = mean + exp(0.5 * log_var) * eps, eps ~ N(0, I): the noise is an input, so gradients
    reach ``mean`` and ``log_var``. Call it as ``Sampling()([mean, log_var])``."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError("Sampling expects [mean, log_var]")
        mean, log_var = inputs
        _same_shape(mean, log_var)
        eps = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_var) * eps

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="course")
class VAE(keras.Model):
    """MLP VAE for 28x28 images in [0, 1] with a Bernoulli decoder (outputs logits).

    ``binarize_inputs=True`` binarizes every training batch afresh (dynamic binarization);
    evaluation uses the data as given (pass a fixed binarized test set). ``beta`` weights the
    KL term (beta = 1 is the ELBO). ``loss`` is -ELBO = reconstruction + beta * KL, per image.
    ``kl_warmup_steps`` > 0 trains on reconstruction + w * beta * KL with w = min(1, step / kl_warmup_steps)
    (KL warm-up); the reported ``loss`` is always the unweighted one. ``fit`` and ``evaluate`` check that
    NumPy images have the model's shape and pixels in [0, 1].
    """

    def __init__(self, latent_dim=2, hidden_units=(512, 256), image_shape=(28, 28), beta=1.0,
                 binarize_inputs=True, seed=None, kl_warmup_steps=0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim <= 0:
            raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}")
        if beta < 0:
            raise ValueError(f"beta must be >= 0, got {beta}")
        if kl_warmup_steps < 0:
            raise ValueError(f"kl_warmup_steps must be >= 0, got {kl_warmup_steps}")
        self.latent_dim, self.hidden_units = latent_dim, tuple(hidden_units)
        self.image_shape, self.beta = tuple(image_shape), float(beta)
        self.binarize_inputs, self.seed = bool(binarize_inputs), seed
        self.kl_warmup_steps = int(kl_warmup_steps)
        self.encoder = keras.Sequential(
            [keras.layers.Flatten()] + [keras.layers.Dense(u, activation="relu") for u in hidden_units]
            + [keras.layers.Dense(2 * latent_dim)], name="encoder")
        self.decoder = keras.Sequential(
            [keras.layers.Dense(u, activation="relu") for u in reversed(hidden_units)]
            + [keras.layers.Dense(int(np.prod(image_shape))), keras.layers.Reshape(image_shape)],
            name="decoder")
        self.sampling = Sampling(seed=seed)
        self.binarize_seed = keras.random.SeedGenerator(None if seed is None else seed + 1)
        self.trackers = [keras.metrics.Mean(name=n) for n in ("loss", "reconstruction", "kl")]
        self.build((None,) + self.image_shape)  # weights exist at once: summary, save and reload work

    def build(self, input_shape=None):
        self.encoder.build((None,) + self.image_shape)
        self.decoder.build((None, self.latent_dim))
        self.built = True

    def init_output_bias(self, images):
        """Set the decoder's output bias to the logits of the mean training pixel, so that training starts
        from the best image-independent decoder instead of p = 0.5 everywhere."""
        p = np.clip(check_images(images, self.image_shape).mean(0), 1e-3, 1.0 - 1e-3).reshape(-1)
        self.decoder.layers[-2].bias.assign(np.log(p / (1.0 - p)))

    def encode(self, x):
        """(mean, log_var) of q(z | x)."""
        h = self.encoder(x)
        return h[:, : self.latent_dim], h[:, self.latent_dim:]

    def decode(self, z):
        """Logits of p(x | z); ``ops.sigmoid`` of them are the pixel probabilities."""
        return self.decoder(z)

    def call(self, x):
        mean, log_var = self.encode(x)
        return self.decode(self.sampling([mean, log_var]))

    @property
    def metrics(self):
        return self.trackers

    def elbo_terms(self, x):
        """(loss, reconstruction, kl) averaged over the batch: loss = reconstruction + beta * kl."""
        mean, log_var = self.encode(x)
        logits = self.decode(self.sampling([mean, log_var]))
        rec = ops.mean(bce_from_logits(x, logits))
        kl = ops.mean(kl_divergence_normal(mean, log_var))
        return rec + self.beta * kl, rec, kl

    def report_metrics(self, values):
        """Update the three trackers with ``(loss, reconstruction, kl)`` and return their running means
        as a dict: what a ``train_step`` or ``test_step`` returns (a subclass with its own step, such as
        chapter 5's conditional VAE, calls it too)."""
        if len(values) != len(self.trackers):
            raise ValueError(f"expected {len(self.trackers)} values (loss, reconstruction, kl), "
                             f"got {len(values)}")
        for tracker, value in zip(self.trackers, values):
            tracker.update_state(value)
        return {t.name: t.result() for t in self.trackers}

    def kl_weight(self):
        """beta * min(1, step / kl_warmup_steps): the KL's weight in the training objective."""
        if not self.kl_warmup_steps:
            return self.beta
        step = ops.cast(self.optimizer.iterations + 1, "float32")
        return self.beta * ops.minimum(1.0, step / self.kl_warmup_steps)

    def _images(self, data):
        x = data[0] if isinstance(data, tuple) else data
        if tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"expected images of shape {self.image_shape}, got batches of shape "
                             f"{tuple(x.shape)}")
        return x

    def train_step(self, data):
        import tensorflow as tf

        x = self._images(data)
        if self.binarize_inputs:
            x = ops.cast(keras.random.uniform(ops.shape(x), seed=self.binarize_seed) < x, "float32")
        with tf.GradientTape() as tape:
            loss, rec, kl = self.elbo_terms(x)
            objective = rec + self.kl_weight() * kl
        grads = tape.gradient(objective, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        return self.report_metrics((loss, rec, kl))

    def test_step(self, data):
        return self.report_metrics(self.elbo_terms(self._images(data)))

    def _check(self, x, kwargs):
        if isinstance(x, np.ndarray):
            check_images(x, self.image_shape)
        val = kwargs.get("validation_data")
        if isinstance(val, tuple) and val and isinstance(val[0], np.ndarray):
            check_images(val[0], self.image_shape)

    def fit(self, x=None, *args, **kwargs):
        self._check(x, kwargs)
        return super().fit(x, *args, **kwargs)

    def evaluate(self, x=None, *args, **kwargs):
        self._check(x, kwargs)
        return super().evaluate(x, *args, **kwargs)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim,
                "hidden_units": list(self.hidden_units),
                "image_shape": list(self.image_shape), "beta": self.beta,
                "binarize_inputs": self.binarize_inputs, "seed": self.seed,
                "kl_warmup_steps": self.kl_warmup_steps}


def iwae_log_likelihood(model, x, k=100, batch_size=100, seed=0):
    """Per-image estimates (log p(x) with k importance samples, ELBO with one sample each).

    log p(x) ~= logsumexp_i [log p(x|z_i) + log p(z_i) - log q(z_i|x)] - log k, z_i ~ q(z|x).
    It is a lower bound on log p(x) that tightens as k grows; k = 1 is the ELBO.
    """
    x = check_images(x, getattr(model, "image_shape", None))
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    rng = np.random.default_rng(seed)
    iwae, elbo = [], []
    for start in range(0, len(x), batch_size):
        xb = x[start:start + batch_size]
        b = len(xb)
        mean, log_var = (ops.convert_to_numpy(t) for t in model.encode(xb))
        eps = rng.standard_normal((k, b, model.latent_dim)).astype("float32")
        z = mean + np.exp(0.5 * log_var) * eps                         # (k, b, L)
        logits = model.decode(z.reshape(k * b, -1))
        x_rep = np.broadcast_to(xb, (k,) + xb.shape).reshape((k * b,) + xb.shape[1:])
        log_px_z = -ops.convert_to_numpy(bce_from_logits(x_rep, logits)).reshape(k, b)
        log_pz = _log_normal(z, 0.0, 0.0, np)
        log_qz = _log_normal(z, mean, log_var, np)
        log_w = (log_px_z + log_pz - log_qz).astype("float64")
        m = log_w.max(axis=0)
        iwae.append(m + np.log(np.mean(np.exp(log_w - m), axis=0)))
        elbo.append(log_w[0])
    return np.concatenate(iwae), np.concatenate(elbo)
