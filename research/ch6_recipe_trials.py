"""Chapter 6 recipe trials for (c), MiniLM in our implementation: is there a better fine-tuning recipe?

Runs the notebook's pieces (``bert.build_bert`` + ``load_hf_weights`` + ``build_classifier``, ``finetune``'s
encoding, schedule and length-grouped batches) on the fixed sentence-polarity splits and prints validation
*and* test accuracy after every epoch. Choose a recipe on validation only; the test column is there to
report, never to choose. The training is ``finetune.fine_tune(..., group_by_length=True)``'s, with one
change: the optimizer is an AdamW whose learning rate is scaled per variable (all factors 1 by default, which
is AdamW itself).

    python research/ch6_recipe_trials.py                      # the notebook's recipe (peak 5e-5, 3 epochs)
    python research/ch6_recipe_trials.py --head-mult 20       # new head at 20x the rate
    python research/ch6_recipe_trials.py --llrd 0.8 --lr 1e-4 --head-mult 10   # layer-wise decay
    python research/ch6_recipe_trials.py --linear-probe       # head from logistic regression first (LP-FT)
    python research/ch6_recipe_trials.py --smoke --llrd 0.8 --head-mult 10 --linear-probe   # seconds

About 15 minutes per 3-epoch trial on 2 CPUs. ``--limit N`` trains on a stratified subset of N sentences;
``--smoke`` is a check that the script runs, in seconds: MiniLM cut to its first block, 64 training, 32
validation and 32 test sentences, one epoch (its accuracies mean nothing).
"""
import argparse
import os
import time

os.environ.setdefault("COURSE_MODE", "full")   # before course_utils reads it

import numpy as np  # noqa: E402

import course_utils as cu  # noqa: E402

cu.setup()
import keras  # noqa: E402
import keras_hub  # noqa: E402

from course_utils import bert, data, finetune  # noqa: E402
from course_utils.training import TrainingClock  # noqa: E402


def lr_factor(path, num_layers, head_mult, llrd):
    """Learning-rate multiplier of one variable: head ×head_mult; block i ×llrd^(L-1-i);
    embeddings ×llrd^L."""
    if "logits" in path:
        return head_mult
    if "block_" in path:
        return llrd ** (num_layers - 1 - int(path.split("block_")[1].split("/")[0]))
    return llrd**num_layers if "embedding" in path else 1.0


def scaled_adamw(factor):
    """AdamW whose learning rate is multiplied per variable by ``factor(variable.path)``."""

    class ScaledAdamW(keras.optimizers.AdamW):
        def build(self, var_list):
            super().build(var_list)
            self._factors = [factor(v.path) for v in var_list]
            print("learning-rate multipliers:", sorted({round(f, 4) for f in self._factors}), flush=True)

        def update_step(self, gradient, variable, learning_rate):
            f = self._factors[self._get_variable_index(variable)]
            return super().update_step(gradient, variable, learning_rate * f)

    return ScaledAdamW


def fit(model, optimizer, x, y, x_val, y_val, epochs, batch_size, callbacks=()):
    """``finetune.fine_tune(..., group_by_length=True, patience=epochs)`` with ``optimizer`` instead of its
    AdamW: the package's length-grouped batches as ``tf.data`` pipelines, best validation epoch kept.
    Returns ``(history, samples_per_second)``."""
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], jit_compile=False)
    seed = int(np.random.randint(2**31 - 1))   # follows cu.set_seed, as in fine_tune
    train = finetune.LengthBatches(x, y, batch_size, shuffle=True, seed=seed).as_tf_dataset()
    validation = finetune.LengthBatches(x_val, y_val, 128, shuffle=False).as_tf_dataset()
    clock = TrainingClock()
    stop = keras.callbacks.EarlyStopping("val_accuracy", patience=epochs, restore_best_weights=True)
    history = model.fit(train, shuffle=False, validation_data=validation, epochs=epochs,
                        callbacks=[clock, stop, *callbacks], verbose=0)
    rates = [len(y) / s for s in clock.epoch_seconds]   # from the second epoch on (the first one traces)
    return history, float(np.median(rates[1:] or rates))


def linear_probe(model, X, y, X_val, y_val):
    """Fit the logits layer by logistic regression on frozen mean-pooled features (C chosen on validation)."""
    from sklearn.linear_model import LogisticRegression

    features = keras.Model(model.input, model.get_layer("pool").output)
    F = finetune.predict_logits(features, X)
    F_val = finetune.predict_logits(features, X_val)
    val_acc, C = max((LogisticRegression(C=C, max_iter=2000).fit(F, y).score(F_val, y_val), C)
                     for C in (0.1, 1, 10, 100))
    probe = LogisticRegression(C=C, max_iter=2000).fit(F, y)
    w, b = probe.coef_[0], probe.intercept_[0]
    model.get_layer("logits").kernel.assign(np.stack([-w / 2, w / 2], axis=1))  # softmax of ±z/2 = sigmoid(z)
    model.get_layer("logits").bias.assign([-b / 2, b / 2])
    return val_acc, C


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--lr", type=float, default=5e-5, help="peak learning rate")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--head-mult", type=float, default=1.0)
    p.add_argument("--llrd", type=float, default=1.0, help="layer-wise learning-rate decay per block")
    p.add_argument("--linear-probe", action="store_true")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--smoke", action="store_true",
                   help="a check that it runs: MiniLM's first block only, 64/32/32 sentences, one epoch")
    args = p.parse_args()
    sizes = dict(train=args.limit, validation=None, test=None)
    if args.smoke:
        sizes = dict(train=64, validation=32, test=32)
        args.epochs, args.batch = 1, 16

    folder = bert.minilm_folder()
    tokenizer = keras_hub.tokenizers.BertTokenizer.from_preset(str(folder))
    splits = data.load_sentence_polarity()
    for s, n in sizes.items():   # stratified subsets, as the notebook's quick mode takes them
        if n:
            splits[s] = data.subset(*splits[s], n, seed=0)
    X, X_val, X_test = (finetune.encode_texts(splits[s][0], tokenizer, args.seq_len)
                        for s in ("train", "validation", "test"))
    y, y_val, y_test = (np.asarray(splits[s][1]) for s in ("train", "validation", "test"))

    config = bert.read_config(folder)
    if args.smoke:
        config["num_layers"] = 1   # the first block's weights load; the other blocks' are left unused
    cu.set_seed(1)
    encoder = bert.build_bert(**config, name="minilm")
    bert.load_hf_weights(encoder, bert.read_safetensors(folder / "model.safetensors"))
    model = bert.build_classifier(encoder, name="clf")
    if args.linear_probe:
        t = time.perf_counter()
        val_acc, C = linear_probe(model, X, y, X_val, y_val)
        print(f"linear probe: val {val_acc:.4f} (C={C}) in {time.perf_counter() - t:.0f} s", flush=True)
    steps = args.epochs * -(-len(y) // args.batch)
    schedule = finetune.WarmupLinearDecay(args.lr, int(0.1 * steps), steps)   # fine_tune's: 10 % warm-up
    optimizer = scaled_adamw(lambda path: lr_factor(path, config["num_layers"], args.head_mult, args.llrd))(
        schedule, weight_decay=0.01)

    t0 = time.perf_counter()

    class EveryEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            test = self.model.evaluate(X_test, y_test, batch_size=128, verbose=0)[1]
            print(f"epoch {epoch + 1}: val {logs['val_accuracy']:.4f}  test {test:.4f}  "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)

    history, speed = fit(model, optimizer, X, y, X_val, y_val, args.epochs, args.batch, [EveryEpoch()])
    test = model.evaluate(X_test, y_test, batch_size=128, verbose=0)[1]
    print(f"{vars(args)}: {speed:.1f} samples/s; best val {max(history.history['val_accuracy']):.4f}, "
          f"test at that epoch {test:.4f}")


if __name__ == "__main__":
    main()
