"""Chapter 6 benchmark: fine-tuning step time of MiniLM in our implementation (course_utils.bert) versus
KerasHub's BertTextClassifier on the same weights, the same batches and the same compiled AdamW step.

    python research/bert_vs_kerashub.py            # batch 32, widths 28 and 64 (chapter 6's full mode)
    python research/bert_vs_kerashub.py --quick    # fewer repeats
    python research/bert_vs_kerashub.py --fit      # as chapter 6 measures: finetune.fine_tune, grouped
    python research/bert_vs_kerashub.py --smoke    # both measurements at tiny sizes: checks that it runs

``--smoke`` cuts every model to MiniLM's first block and times a few rows once: its numbers mean nothing.

Three models: ours as chapter 6 trains it (exact erf GELU, the function the checkpoint was trained with),
ours with the tanh GELU that KerasHub uses (``gelu_approximate=True``), and KerasHub's classifier. Prints
the median seconds per step and the ratios against KerasHub (below 1: ours is faster). The models alternate
for several rounds and the best median of each is kept, so all see the same machine load.
"""
import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import keras  # noqa: E402
import keras_hub  # noqa: E402
import numpy as np  # noqa: E402

from course_utils import bert, finetune  # noqa: E402


def models(tanh=True, num_layers=None):
    """{name: compiled classifier}, all from the MiniLM weights that ship with the course; ``tanh=False``
    leaves out ours with the tanh GELU; ``num_layers`` keeps only the first blocks (for a smoke run)."""
    folder = bert.minilm_folder()
    config, tensors = bert.read_config(folder), bert.read_safetensors(folder / "model.safetensors")
    if num_layers:
        config["num_layers"] = num_layers
    out = {}
    for name, approximate in [("ours, exact GELU", False), ("ours, tanh GELU", True)][: 2 if tanh else 1]:
        encoder = bert.build_bert(**config, gelu_approximate=approximate, name="minilm")
        bert.load_hf_weights(encoder, tensors)
        out[name] = bert.build_classifier(encoder)
    if num_layers:   # the task's from_preset builds every block; its backbone's takes num_layers
        backbone = keras_hub.models.BertBackbone.from_preset(str(folder), num_layers=num_layers)
        out["KerasHub"] = keras_hub.models.BertTextClassifier(backbone, num_classes=2, preprocessor=None)
    else:
        out["KerasHub"] = keras_hub.models.BertTextClassifier.from_preset(str(folder), num_classes=2,
                                                                          preprocessor=None)
    for model in out.values():   # the optimizer and loss of finetune.fine_tune
        model.compile(optimizer=keras.optimizers.AdamW(5e-5, weight_decay=0.01),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=False)
    return out


def batch(width, size=32, seed=0):
    """Token-id rows of ``width`` columns (no padding: every column costs) and labels."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1000, 20000, (size, width)).astype("int32")
    x[:, 0], x[:, -1] = 101, 102   # [CLS] ... [SEP]
    return x, rng.integers(0, 2, size).astype("int32")


def median_step(model, x, y, repeats):
    hub = isinstance(model, keras_hub.models.Task)
    # one batch of all rows, as fine_tune feeds it (KerasHub's input dict for a KerasHub task)
    inputs, y = finetune.LengthBatches(x, y, batch_size=len(x), shuffle=False, keras_hub=hub)[0]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.train_on_batch(inputs, y)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def compare(widths=(28, 64), repeats=10, rounds=3, size=32, tanh=True, num_layers=None):
    """{width: {model name: best median seconds per step}} on batches of ``size`` rows."""
    built = models(tanh, num_layers)
    rows = {}
    for width in widths:
        x, y = batch(width, size)
        for model in built.values():   # trace and warm up
            median_step(model, x, y, 2)
        best = {name: float("inf") for name in built}
        for _ in range(rounds):
            for name, model in built.items():
                best[name] = min(best[name], median_step(model, x, y, repeats))
        rows[width] = best
    return rows


def compare_fit(rows=640, rounds=2, val_rows=128, num_layers=None):
    """{model name: best samples/s} of ``finetune.fine_tune`` (2 epochs, speed from the second) on the first
    ``rows`` polarity training sentences (``val_rows`` validation sentences), the path and batches chapter 6
    measures (c) and (d) on."""
    from course_utils import data

    folder = bert.minilm_folder()
    tokenizer = keras_hub.tokenizers.BertTokenizer.from_preset(str(folder))
    (x, y), (x_val, y_val) = (data.load_sentence_polarity()[k] for k in ("train", "validation"))
    X, y = finetune.encode_texts(list(x[:rows]), tokenizer, 64), np.asarray(y[:rows])
    X_val, y_val = finetune.encode_texts(list(x_val[:val_rows]), tokenizer, 64), np.asarray(y_val[:val_rows])
    best, built = {}, models(tanh=False, num_layers=num_layers)
    for _ in range(rounds):
        for name, model in built.items():
            keras.utils.set_random_seed(1)
            _, speed = finetune.fine_tune(model, X, y, X_val, y_val, epochs=2, peak_lr=5e-5,
                                          group_by_length=True)
            best[name] = max(best.get(name, 0.0), speed)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--fit", action="store_true", help="time finetune.fine_tune as chapter 6 does")
    parser.add_argument("--smoke", action="store_true",
                        help="both measurements, tiny, MiniLM's first block only: checks that it runs")
    args = parser.parse_args(argv)
    out = {}
    if args.fit or args.smoke:
        smoke = dict(rows=32, rounds=1, val_rows=16, num_layers=1) if args.smoke else {}
        best = out["fit"] = compare_fit(**smoke)
        print("samples/s: " + "   ".join(f"{name} {v:.1f}" for name, v in best.items())
              + f"   ratio ours/KerasHub {best['ours, exact GELU'] / best['KerasHub']:.3f} (goal >= 1)")
    if not args.fit:
        if args.smoke:
            size, rows = 4, compare(widths=(16,), repeats=1, rounds=1, size=4, tanh=False, num_layers=1)
        else:
            size, rows = 32, compare(repeats=4, rounds=2) if args.quick else compare()
        out["steps"] = rows
        for width, best in rows.items():
            hub = best["KerasHub"]
            print(f"batch {size} x {width} tokens: " + "   ".join(
                f"{name} {s * 1e3:6.0f} ms ({s / hub:.3f})" for name, s in best.items()))
        print("in brackets: step time / KerasHub's (below 1: faster than KerasHub)")
    return out


if __name__ == "__main__":
    main()
