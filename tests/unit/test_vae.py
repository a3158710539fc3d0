"""Unit tests for course_utils.vae (chapter 5)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from course_utils.vae import (
    VAE,
    Sampling,
    bernoulli_nll,
    binarize,
    check_images,
    iwae_log_likelihood,
    kl_divergence_normal,
    kl_monte_carlo,
    log_normal_diag,
)


def test_kl_zero_at_prior_and_nonnegative():
    assert np.array_equal(np.asarray(kl_divergence_normal(np.zeros((3, 4)), np.zeros((3, 4)))), np.zeros(3))
    rng = np.random.default_rng(0)
    kl = np.asarray(kl_divergence_normal(rng.normal(size=(500, 8)), rng.normal(size=(500, 8))))
    assert kl.shape == (500,) and (kl > 0).all()


def test_kl_matches_monte_carlo():
    mean, log_var = np.array([0.5, -1.0, 2.0]), np.array([-0.5, 0.3, -1.2])
    exact = float(kl_divergence_normal(mean, log_var))
    mc = float(kl_monte_carlo(mean, log_var, num_samples=400_000, seed=1))
    assert abs(mc - exact) / exact < 0.01, (mc, exact)


def test_kl_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="same shape"):
        kl_divergence_normal(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="same shape"):
        kl_monte_carlo(np.zeros(3), np.zeros(2))


def test_log_normal_diag_matches_scipy_formula():
    z, m, lv = np.array([[0.3, -1.0]]), np.array([[0.0, 1.0]]), np.array([[0.0, np.log(4.0)]])
    expected = -0.5 * (np.log(2 * np.pi) + 0.09) - 0.5 * (np.log(2 * np.pi) + np.log(4.0) + 4.0 / 4.0)
    np.testing.assert_allclose(np.asarray(log_normal_diag(z, m, lv)), [expected], rtol=1e-6)


def test_sampling_statistics():
    n = 20_000
    mean = np.tile([[1.0, -2.0]], (n, 1)).astype("float32")
    log_var = np.tile([[0.0, np.log(4.0)]], (n, 1)).astype("float32")
    z = np.asarray(Sampling(seed=3)([mean, log_var]))
    np.testing.assert_allclose(z.mean(0), [1.0, -2.0], atol=0.05)
    np.testing.assert_allclose(z.std(0), [1.0, 2.0], rtol=0.03)


def test_sampling_gradients_reach_mean_and_log_var():
    mean = tf.Variable([[0.5, -0.5]])
    log_var = tf.Variable([[0.2, -0.4]])
    with tf.GradientTape() as tape:
        z = Sampling(seed=0)([mean, log_var])
    g_mean, g_log_var = tape.gradient(z, [mean, log_var])
    np.testing.assert_allclose(g_mean.numpy(), [[1.0, 1.0]])
    eps = (z.numpy() - mean.numpy()) / np.exp(0.5 * log_var.numpy())
    np.testing.assert_allclose(g_log_var.numpy(), 0.5 * np.exp(0.5 * log_var.numpy()) * eps, rtol=1e-5)


def test_sampling_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        Sampling()([np.zeros((2, 3), "float32"), np.zeros((2, 2), "float32")])
    with pytest.raises(ValueError, match=r"\[mean, log_var\]"):
        Sampling()(np.zeros((2, 3), "float32"))


def test_bernoulli_nll_matches_keras_bce():
    rng = np.random.default_rng(0)
    x = (rng.random((4, 28, 28)) < 0.3).astype("float32")
    logits = rng.normal(size=(4, 28, 28)).astype("float32")
    bce = keras.losses.BinaryCrossentropy(from_logits=True, reduction=None)
    expected = np.asarray(bce(x.reshape(4, -1, 1), logits.reshape(4, -1, 1))).sum(1)
    np.testing.assert_allclose(np.asarray(bernoulli_nll(x, logits)), expected, rtol=1e-4)


def test_bernoulli_nll_bad_input():
    logits = np.zeros((1, 28, 28), "float32")
    with pytest.raises(ValueError, match=r"pixels in \[0, 1\]"):
        bernoulli_nll(np.full((1, 28, 28), 255.0), logits)
    with pytest.raises(ValueError, match="shape"):
        bernoulli_nll(np.zeros((1, 28, 27)), logits)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        binarize(np.full((2, 2), -0.5))


def test_binarize_probability():
    b = binarize(np.full((200, 100), 0.25), seed=1)
    assert set(np.unique(b)) <= {0.0, 1.0} and abs(b.mean() - 0.25) < 0.01


def test_vae_bad_arguments():
    with pytest.raises(ValueError, match="latent_dim"):
        VAE(latent_dim=0)
    with pytest.raises(ValueError, match="beta"):
        VAE(latent_dim=2, beta=-1.0)


def test_vae_fit_save_reload_round_trip(tmp_path):
    x = binarize(np.random.default_rng(0).random((64, 28, 28)), seed=0)
    model = VAE(latent_dim=3, hidden_units=(16,), seed=1)
    model.compile(optimizer="adam")
    history = model.fit(x, epochs=1, batch_size=32, verbose=0)
    assert set(history.history) == {"loss", "reconstruction", "kl"}
    path = tmp_path / "vae.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, VAE) and loaded.latent_dim == 3
    for a, b in zip(model.encode(x[:5]), loaded.encode(x[:5])):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)
    # IWAE with k = 1 is the one-sample ELBO; with k = 50 it is at least as large on average
    iw1, elbo1 = iwae_log_likelihood(loaded, x[:16], k=1, seed=2)
    np.testing.assert_allclose(iw1, elbo1, rtol=1e-6)
    # k = 50 is at least as large in expectation; the ELBO is averaged over 30 draws so that its own
    # Monte Carlo noise (one sample per image per draw) cannot flip the comparison
    iw50, _ = iwae_log_likelihood(loaded, x, k=50, seed=2)
    elbo = np.mean([iwae_log_likelihood(loaded, x, k=1, seed=s)[1].mean() for s in range(3, 33)])
    assert iw50.mean() > elbo
    with pytest.raises(ValueError, match="k must be"):
        iwae_log_likelihood(loaded, x[:2], k=0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        iwae_log_likelihood(loaded, x[:2] * 255, k=2)


def test_report_metrics_running_means():
    model = VAE(latent_dim=2, hidden_units=(8,), seed=0)
    model.report_metrics((3.0, 2.0, 1.0))
    out = model.report_metrics((5.0, 4.0, 1.0))
    assert {k: float(v) for k, v in out.items()} == {"loss": 4.0, "reconstruction": 3.0, "kl": 1.0}
    with pytest.raises(ValueError, match="expected 3 values"):
        model.report_metrics((1.0, 2.0))


def test_vae_refuses_bad_images_and_warmup():
    model = VAE(latent_dim=2, hidden_units=(8,), seed=0)
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model.fit(np.full((4, 28, 28), 255.0, "float32"), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="shape"):
        model.fit(np.zeros((4, 28, 27), "float32"), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model.evaluate(np.full((4, 28, 28), -1.0, "float32"), verbose=0)
    with pytest.raises(ValueError, match="kl_warmup_steps"):
        VAE(latent_dim=2, kl_warmup_steps=-1)
    with pytest.raises(ValueError, match="latent_dim"):
        VAE(latent_dim=-3)


def test_iwae_refuses_wrong_image_shape():
    model = VAE(latent_dim=2, hidden_units=(8,), seed=0)
    with pytest.raises(ValueError, match="shape"):
        iwae_log_likelihood(model, np.zeros((2, 784), "float32"), k=2)
    with pytest.raises(ValueError, match="k must be"):
        iwae_log_likelihood(model, np.zeros((2, 28, 28), "float32"), k=2.5)


def test_check_images():
    x = check_images(np.ones((3, 4, 4), "uint8"), (4, 4))
    assert x.dtype == np.float32 and x.shape == (3, 4, 4)
    with pytest.raises(ValueError, match="shape"):
        check_images(np.zeros((4, 4)), (4, 4))


def test_output_bias_gives_the_mean_image():
    images = np.random.default_rng(0).random((50, 4, 4)).astype("float32")
    model = VAE(latent_dim=2, hidden_units=(8,), image_shape=(4, 4), seed=0)
    model.init_output_bias(images)
    model.decoder.layers[-2].kernel.assign(np.zeros_like(model.decoder.layers[-2].kernel))
    probs = np.asarray(keras.ops.sigmoid(model.decode(np.zeros((1, 2), "float32"))))[0]
    np.testing.assert_allclose(probs, np.clip(images.mean(0), 1e-3, 1 - 1e-3), rtol=1e-5)


def test_kl_warmup_weight_ramps_to_beta():
    model = VAE(latent_dim=2, hidden_units=(8,), beta=2.0, kl_warmup_steps=4, seed=0)
    model.compile(optimizer="adam")
    weights = []
    for _ in range(6):
        weights.append(float(model.kl_weight()))
        model.optimizer.iterations.assign_add(1)
    np.testing.assert_allclose(weights, [0.5, 1.0, 1.5, 2.0, 2.0, 2.0])
    assert VAE(latent_dim=2, hidden_units=(8,), beta=2.0).kl_weight() == 2.0
    x = binarize(np.random.default_rng(0).random((32, 28, 28)), seed=0)
    history = model.fit(x, epochs=1, batch_size=16, verbose=0)   # the reported loss is rec + beta * KL
    assert set(history.history) == {"loss", "reconstruction", "kl"}
