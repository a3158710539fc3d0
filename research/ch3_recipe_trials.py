"""Chapter 3's recipe trials: our CNN (or the plain or the article CNN) trained to a budget of epochs,
scored on validation only.

    python research/ch3_recipe_trials.py --epochs 14 --ls 0.1            # one trial (minutes: see README)
    python research/ch3_recipe_trials.py --shift 0 --drop 0.3 --seed 1   # a variant
    python research/ch3_recipe_trials.py --smoke                          # tiny: checks that it runs

The split is chapter 3's: from the 60,000 training images, validation (5,000, the one used for choices) and a
second validation split (5,000, never used for a choice), stratified, leaving 50,000 for training. It
prints each epoch's validation accuracy and, at the end, one JSON line: the best and last validation accuracy,
with flip averaging, and the second split's. It never touches the test set.
"""
import argparse
import json
import time

import keras
import numpy as np
import tensorflow as tf
from keras import layers
from sklearn.model_selection import train_test_split

from course_utils import augmentation, data, stats, training

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--model", default="ours", choices=["ours", "plain", "article"])
p.add_argument("--epochs", type=int, default=14)
p.add_argument("--bs", type=int, default=128, help="batch size")
p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate")
p.add_argument("--wd", type=float, default=0.05, help="AdamW weight decay (0: Adam)")
p.add_argument("--ls", type=float, default=0.0, help="label smoothing")
p.add_argument("--noaug", action="store_true", help="no flips, no shifts")
p.add_argument("--nobn", action="store_true", help="no BatchNorm")
p.add_argument("--const", action="store_true", help="constant rate (no warm-up + cosine)")
p.add_argument("--seed", type=int, default=0)
p.add_argument("--width", type=int, default=32)
p.add_argument("--ntrain", type=int, default=0, help="a stratified training subset of this size")
p.add_argument("--shift", type=int, default=2, help="largest random shift in pixels (0: flips only)")
p.add_argument("--drop", type=float, default=0.5, help="dropout before the classifier")
p.add_argument("--ema", type=float, default=0.0,
               help="also keep a moving average of the weights with this momentum per step (0: none)")
p.add_argument("--smoke", action="store_true", help="512 training images, 1 epoch")
a = p.parse_args()
if a.smoke:
    a.epochs, a.ntrain = 1, 512
keras.utils.set_random_seed(a.seed)
(x_all, y_all), _, _, _ = data.load_image_dataset("fashion_mnist")
x_tr, x_v, y_tr, y_v = train_test_split(x_all, y_all, test_size=10000, stratify=y_all, random_state=0)
x_v1, x_v2, y_v1, y_v2 = train_test_split(x_v, y_v, test_size=5000, stratify=y_v, random_state=0)
if a.ntrain:
    x_tr, y_tr = data.subset(x_tr, y_tr, a.ntrain, seed=0)
if a.smoke:
    x_v1, y_v1, x_v2, y_v2 = x_v1[:500], y_v1[:500], x_v2[:500], y_v2[:500]
x_tr, x_v1, x_v2 = [(z / 255.0).astype("float32") for z in (x_tr, x_v1, x_v2)]


def plain():
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"), layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(2), layers.Dropout(0.25),
        layers.Conv2D(64, 3, activation="relu"), layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(2), layers.Dropout(0.25),
        layers.Flatten(), layers.Dense(256, activation="relu"), layers.Dropout(0.5), layers.Dense(10)])


def article():
    inputs = keras.Input((28, 28, 1))
    x = layers.MaxPooling2D(2)(layers.Conv2D(32, 3, activation="relu")(inputs))
    return keras.Model(inputs, layers.Dense(10)(layers.Flatten()(x)))


def ours(width=a.width, aug=not a.noaug, bn=not a.nobn):
    inputs = keras.Input((28, 28, 1))
    x = inputs
    if aug:
        x = layers.RandomFlip("horizontal", seed=1)(x)
        x = augmentation.RandomShift(a.shift, seed=2)(x)

    def block(x, filters):
        x = layers.Conv2D(filters, 3, use_bias=not bn)(x)
        if bn:
            x = layers.BatchNormalization(momentum=0.9)(x)
        return layers.ReLU()(x)

    for filters in (width, 2 * width):
        x = layers.MaxPooling2D(2)(block(block(x, filters), filters))
    x = layers.Dropout(a.drop)(layers.Dense(8 * width, activation="relu")(layers.Flatten()(x)))
    return keras.Model(inputs, layers.Dense(10)(x))


model = {"ours": ours, "plain": plain, "article": article}[a.model]()
ema = dict(use_ema=True, ema_momentum=a.ema) if a.ema else {}
optimizer = (keras.optimizers.AdamW(a.lr, weight_decay=a.wd, **ema) if a.wd
             else keras.optimizers.Adam(a.lr, **ema))
model.compile(optimizer=optimizer, metrics=["categorical_accuracy"],
              loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=a.ls))
steps = -(-len(y_tr) // a.bs)
callbacks = [] if a.const else [training.CosineToBudget(a.lr, a.epochs * steps)]


batches = training.no_autotune(tf.data.Dataset.from_tensor_slices((x_tr, np.eye(10, dtype="float32")[y_tr]))
                               .shuffle(len(y_tr), seed=a.seed).batch(a.bs).repeat().prefetch(2))


def shifted(x, dy, dx):
    """Images moved by (dy, dx) whole pixels, zeros shifted in."""
    out = np.zeros_like(x)
    out[:, max(dy, 0):28 + min(dy, 0), max(dx, 0):28 + min(dx, 0)] = \
        x[:, max(-dy, 0):28 + min(-dy, 0), max(-dx, 0):28 + min(-dx, 0)]
    return out


VIEWS = {"none": [(False, 0, 0)], "flip": [(False, 0, 0), (True, 0, 0)],
         "flip+shift": [(f, dy, dx) for f in (False, True)
                        for dy, dx in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))]}


def correct(x, y, views="none"):
    """Per image: right or not, with the softmax averaged over the test-time views."""
    probs = 0
    for flip, dy, dx in VIEWS[views]:
        view = shifted(x[:, :, ::-1] if flip else x, dy, dx)
        logits = model.predict(view, batch_size=512, verbose=0)
        probs = probs + keras.ops.convert_to_numpy(keras.ops.softmax(logits))
    return probs.argmax(1) == y


def accuracy(x, y):
    return float(correct(x, y).mean())


class EpochLog(keras.callbacks.Callback):
    """Validation accuracy after every epoch (of the raw weights); the last epoch's raw weights."""

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.t0
        val.append(accuracy(x_v1, y_v1))
        self.raw = model.get_weights()
        print(f"epoch {epoch + 1:2d} {seconds:5.1f}s loss {logs['loss']:.4f} "
              f"train_acc {logs['categorical_accuracy']:.4f} val {val[-1]:.4f}", flush=True)


# One fit for the whole budget: Keras replaces the weights by their moving average at the end of every fit
# (optimizer.finalize_variable_values), so a fit per epoch would pull training back to the average each epoch.
val, start, log = [], time.perf_counter(), EpochLog()
model.fit(batches, steps_per_epoch=steps, epochs=a.epochs, callbacks=[*callbacks, log], shuffle=False,
          verbose=0)
averaged = model.get_weights()
outcomes = {}
for weights in ["raw", "ema"] if a.ema else ["raw"]:
    model.set_weights(log.raw if weights == "raw" else averaged)
    for views in VIEWS:
        outcomes[f"{weights}, {views}"] = (correct(x_v1, y_v1, views), correct(x_v2, y_v2, views))
base = outcomes["raw, none"]
for name, (ok1, ok2) in outcomes.items():
    both = np.concatenate([ok1, ok2])
    low, high = stats.paired_difference_interval(both, np.concatenate(base))
    diff = both.mean() - np.concatenate(base).mean()
    print(f"{name:18s} validation {ok1.mean():.4f}  second validation {ok2.mean():.4f}  "
          f"both {both.mean():.4f}  minus raw, none {diff:+.4f} [{low:+.4f}, {high:+.4f}]", flush=True)
mean = {name: (float(ok1.mean()), float(ok2.mean())) for name, (ok1, ok2) in outcomes.items()}
print(json.dumps(dict(args=vars(a), best=max(val), best_epoch=int(np.argmax(val)) + 1, last=val[-1],
                      last_flip=mean["raw, flip"][0], v2=mean["raw, none"][1], v2_flip=mean["raw, flip"][1],
                      seconds=time.perf_counter() - start)), flush=True)
