"""Chapter 6 pretraining trials: does our own masked-word pretraining help, as frozen features or as an init?

Pretrains the bag-of-words masked-word model (``course_utils.pretraining``) on the chapter's unlabelled
corpus (polarity *training* texts + Rotten Tomatoes text, small vocabulary of 6,000 pieces, one text per
row), then measures on the **validation** split only:

- ``--part features``: its embedding table as frozen features (mean over a sentence's pieces), logistic
  regression on 100 / 300 / 1,000 / all labels (5 label subsets below all), against the same table at its
  random initialization;
- ``--part minibert``: the chapter's mini-BERT pretraining recipe (pre-LN, no dropout, 30 % masking, one
  sentence per row, warm-up + linear decay to 0) for ``--epochs`` epochs: held-out masked-token accuracy
  (15 % masking) against the neighbour count table, every ``--every`` epochs;
- ``--part init``: the chapter-4 transformer ((a) of the chapter, the mini-BERT shape) fine-tuned with its
  word embeddings initialized from the table (scaled by ``--scale``) against BERT's random init, at 300 and
  1,000 labels (3 subsets each), best validation accuracy of each run.

    python research/ch6_pretraining_trials.py --part features --epochs 30     # about 2.5 min on 2 CPUs
    python research/ch6_pretraining_trials.py --part init --scale 0.1         # about 10 min on 2 CPUs
    python research/ch6_pretraining_trials.py --part minibert --epochs 12     # about 30 min on 2 CPUs (AVX2)
    python research/ch6_pretraining_trials.py --part features init minibert --smoke   # seconds: it runs

``--smoke`` checks that the parts run, not what they find: 800 corpus texts, 200 training and 100
validation sentences, one epoch of everything, one label count.

Choose on validation only: this script never touches the test split.
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
from sklearn.linear_model import LogisticRegression  # noqa: E402

from course_utils import bert, data, finetune, text  # noqa: E402
from course_utils import pretraining as pt  # noqa: E402

SEQ_LEN, SMALL_VOCAB, DIM = 64, 6000, 128
MINI = dict(num_layers=2, num_heads=4, hidden_dim=DIM, ff_dim=512, max_length=SEQ_LEN, dropout=0.1)
# the sizes of the measurements; --smoke replaces them by SMOKE's
FULL = dict(corpus=None, train=None, validation=None, probe_subsets=5, init_labels=(300, 1000),
            init_subsets=3, init_epochs=10, init_rows=800)
SMOKE = dict(corpus=800, train=200, validation=100, probe_subsets=1, init_labels=(100,), init_subsets=1,
             init_epochs=1, init_rows=100)


def prepare(sizes=FULL):
    """Corpus rows and the labelled splits, all in the small vocabulary (as chapter 6 builds them)."""
    tokenizer = keras_hub.tokenizers.BertTokenizer.from_preset(str(bert.minilm_folder()))
    special = [tokenizer.token_to_id(t) for t in text.SPECIAL_TOKENS]
    corpus_ids = [np.asarray(t) for t in tokenizer(data.load_review_corpus()[:sizes["corpus"]])]
    old_to_new, _ = text.shrink_vocabulary(corpus_ids, SMALL_VOCAB, tokenizer.vocabulary_size(), special,
                                           special[1])
    rows = text.pack([old_to_new[t] for t in corpus_ids], SEQ_LEN, 2, 3)   # [CLS] = 2, [SEP] = 3
    splits = {k: data.subset(*v, sizes[k] or len(v[1]), seed=0)
              for k, v in data.load_sentence_polarity().items() if k != "test"}
    enc = {k: (old_to_new[finetune.encode_texts(list(x), tokenizer, SEQ_LEN)], np.asarray(y))
           for k, (x, y) in splits.items()}
    return rows, enc["train"], enc["validation"]


def pretrain(rows, epochs, lr, seed=0):
    """The masked-word model after ``epochs`` passes (one hidden word per row, a new one every epoch)."""
    held, train = rows[:500], rows[500:]
    cu.set_seed(seed)
    model = pt.build_masked_word_model(SMALL_VOCAB, DIM, seed=seed)
    model.compile(keras.optimizers.Adam(lr), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    start = model.get_layer("word_embeddings").get_weights()[0].copy()
    held_x, held_y = pt.masked_word_examples(held, seed=10_000)
    t0 = time.perf_counter()
    for epoch in range(epochs):
        model.fit(*pt.masked_word_examples(train, seed=(seed, epoch)), batch_size=128, verbose=0)
        if (epoch + 1) % 10 == 0 or epoch + 1 == epochs:
            acc = model.evaluate(held_x, held_y, verbose=0)[1]
            print(f"epoch {epoch + 1}: held-out hidden-word accuracy {acc:.3f} "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)
    return model.get_layer("word_embeddings").get_weights()[0], start


def probe(table, train, val, n, subsets):
    """Mean validation accuracy of logistic regression on frozen bag-of-embedding features."""
    accs = []
    for s in range(subsets):
        x, y = data.subset(*train, n, seed=s)
        f = pt.bag_of_embeddings(table, x)
        mu, sd = f.mean(0), f.std(0) + 1e-8
        clf = LogisticRegression(max_iter=2000).fit((f - mu) / sd, y)
        accs.append(clf.score((pt.bag_of_embeddings(table, val[0]) - mu) / sd, val[1]))
    return float(np.mean(accs))


def fine_tune(train, val, n, subset, table=None, scale=1.0, epochs=10, min_rows=800):
    """Best validation accuracy of the chapter-4 transformer: random init, or word embeddings from ``table``.
    """
    x, y = data.subset(*train, n, seed=subset)
    reps = -(-min_rows // n)                  # at least min_rows rows per epoch (the chapter: 800)
    x, y = np.tile(x, (reps, 1)), np.tile(y, reps)
    cu.set_seed(1)
    encoder = bert.build_bert(SMALL_VOCAB, name="mini_bert", seed=0, **MINI)
    if table is not None:
        encoder.get_layer("embedding").word_embeddings.assign(table * scale)
    model = bert.build_classifier(encoder)
    history, _ = finetune.fine_tune(model, x, y, *val, epochs=epochs, peak_lr=1e-3, batch_size=32,
                                    group_by_length=True)   # as chapter 6 fine-tunes it
    return max(history.history["val_accuracy"])


class MaskedRows(keras.utils.PyDataset):
    """Masked-LM batches of ``rows`` as chapter 6 feeds its mini-BERT: the package's length-grouped batches
    (``finetune.LengthBatches``, a new order every epoch), each masked anew every epoch."""

    def __init__(self, rows, batch_size, max_predictions, mask_rate):
        super().__init__()
        self.rows = finetune.LengthBatches(rows, batch_size=batch_size, seed=0, min_length=max_predictions)
        self.max_predictions, self.mask_rate = max_predictions, mask_rate

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        (rows,) = self.rows[i]
        masked = text.mask_tokens(rows, text.SPECIAL_TOKENS.index("[MASK]"), SMALL_VOCAB,
                                  list(range(len(text.SPECIAL_TOKENS))), mask_rate=self.mask_rate,
                                  seed=(self.rows.seed, self.rows.epoch, i))
        return text.gather_predictions(*masked, self.max_predictions)

    def on_epoch_end(self):
        self.rows.on_epoch_end()


def minibert(rows, epochs, lr, every, mask_rate=0.3, max_predictions=24, batch=64):
    """Pretrain the chapter's mini-BERT; print held-out masked-token accuracy against the neighbour table."""
    held, train = rows[:500], rows[500:]
    special = list(range(len(text.SPECIAL_TOKENS)))
    mask_id = text.SPECIAL_TOKENS.index("[MASK]")
    cu.set_seed(0)
    encoder = bert.build_bert(SMALL_VOCAB, name="mini_bert", seed=0, dropout=0.0, norm_first=True,
                              **{k: v for k, v in MINI.items() if k != "dropout"})
    mlm = bert.build_mlm(encoder, max_predictions)
    batches = MaskedRows(train, batch, max_predictions, mask_rate)
    total = epochs * len(batches)
    mlm.compile(optimizer=keras.optimizers.AdamW(finetune.WarmupLinearDecay(lr, total // 10, total),
                                                 weight_decay=0.01, beta_2=0.98),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True,
                                                                reduction="mean_with_sample_weight"),
                weighted_metrics=[keras.metrics.SparseCategoricalAccuracy(name="masked_acc")])
    held_x, held_y, held_w = text.gather_predictions(
        *text.mask_tokens(held, mask_id, SMALL_VOCAB, special, seed=123), max_predictions)
    sel = held_w > 0
    table = text.NeighbourTable(SMALL_VOCAB).fit(train, ignore_below=len(special))
    print(f"neighbour table {np.mean(table.predict(*held_x)[sel] == held_y[sel]):.3f}, "
          f"most frequent {np.mean(held_y[sel] == table.fallback):.3f}; {total} steps", flush=True)
    t0 = time.perf_counter()

    class Every(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if (epoch + 1) % every == 0 or epoch + 1 == epochs:
                acc = mlm.evaluate(held_x, held_y, sample_weight=held_w, verbose=0,
                                   return_dict=True)["masked_acc"]
                print(f"epoch {epoch + 1}: held-out masked-token accuracy {acc:.3f} "
                      f"({time.perf_counter() - t0:.0f} s)", flush=True)

    # a tf.data pipeline whose batch width may vary, as chapter 6 fits it
    mlm.fit(finetune.batches_as_dataset(batches), epochs=epochs, verbose=0, shuffle=False,
            callbacks=[Every()])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", choices=["features", "init", "minibert"], nargs="+", default=["features"],
                    help="one or more parts, run in this order")
    ap.add_argument("--every", type=int, default=2, help="minibert: evaluate every this many epochs")
    ap.add_argument("--epochs", type=int, default=30, help="pretraining epochs (passes over the corpus)")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--scale", type=float, default=1.0, help="init: multiply the pretrained table by this")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, one epoch: a check that the parts run")
    a = ap.parse_args()
    sizes = SMOKE if a.smoke else FULL
    if a.smoke:
        a.epochs, a.every = 1, 1
    rows, train, val = prepare(sizes)
    if "features" in a.part or "init" in a.part:
        table, random_table = pretrain(rows, a.epochs, a.lr)
    if "features" in a.part:
        for n in [n for n in (100, 300, 1000) if n < len(train[1])] + [len(train[1])]:
            subsets = sizes["probe_subsets"] if n < len(train[1]) else 1
            p, r = probe(table, train, val, n, subsets), probe(random_table, train, val, n, subsets)
            print(f"{n:5d} labels: pretrained {p:.3f}  random {r:.3f}  gain {p - r:+.3f} "
                  f"(validation, mean of {subsets} label subsets)", flush=True)
    if "init" in a.part:
        print(f"table std {table.std():.3f} (BERT's init: 0.02); scaled by {a.scale}")
        runs = dict(epochs=sizes["init_epochs"], min_rows=sizes["init_rows"])
        for n in sizes["init_labels"]:
            gains = []
            for s in range(sizes["init_subsets"]):
                r = fine_tune(train, val, n, s, **runs)
                p = fine_tune(train, val, n, s, table, a.scale, **runs)
                gains.append(p - r)
                print(f"{n:5d} labels, subset {s}: random init {r:.3f}  masked-word init {p:.3f}", flush=True)
            print(f"{n:5d} labels: mean gain {np.mean(gains):+.3f} (validation)", flush=True)
    if "minibert" in a.part:
        rows = rows[np.random.default_rng(0).permutation(len(rows))]
        minibert(rows, a.epochs, a.lr, a.every)


if __name__ == "__main__":
    main()
