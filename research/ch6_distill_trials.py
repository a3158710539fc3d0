"""Chapter 6 distillation trials: which knobs let a small student learn most from the fine-tuned MiniLM (c)?

Fine-tunes the teacher once with the chapter's recipe (MiniLM in our implementation, ``finetune.fine_tune``)
and keeps its weights under ``build/ch6_distill/`` (``COURSE_BUILD_DIR``), so later trials reuse it. Then it
builds the transfer set as the chapter does (the training sentences, unlabelled review texts, masked copies
and n-gram samples of them, ``course_utils.distill``; validation and test sentences excluded), trains the
student (the chapter's mini-BERT shape) on the teacher's soft labels and prints the **validation** accuracy
of the teacher and of the student. It never evaluates on the test split: the chapter's knobs are chosen here,
on validation, and the lesson reports the test set once.

    python research/ch6_distill_trials.py                                   # the chapter's default knobs
    python research/ch6_distill_trials.py --temperature 4 --alpha 0.2 --epochs 12
    python research/ch6_distill_trials.py --masked-copies 2 --ngram-samples 2
    python research/ch6_distill_trials.py --init minibert    # student initialised from a pretrained mini-BERT
    python research/ch6_distill_trials.py --smoke            # seconds: checks that it runs

``--smoke`` cuts MiniLM to its first block and uses 64 training sentences, 64 unlabelled texts, 32 validation
sentences and one epoch of each model: its accuracies mean nothing.
"""
import argparse
import os
import time

os.environ.setdefault("COURSE_MODE", "full")   # before course_utils reads it
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

import course_utils as cu  # noqa: E402

cu.setup()
import keras  # noqa: E402
import keras_hub  # noqa: E402

from course_utils import bert, data, distill, finetune, results, text  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--temperature", type=float, default=2.0)
    p.add_argument("--alpha", type=float, default=0.5, help="weight of the hard cross-entropy")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate of the student")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--masked-copies", type=int, default=1, help="masked copies of every transfer sentence")
    p.add_argument("--ngram-samples", type=int, default=1, help="n-gram samples of every transfer sentence")
    p.add_argument("--mask-rate", type=float, default=0.1)
    p.add_argument("--unlabelled", type=int, default=None, help="unlabelled review texts used (default: all)")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--ff", type=int, default=512)
    p.add_argument("--init", choices=["random", "minibert"], default="random",
                   help="minibert: the student's encoder first pretrained with masked-language modelling "
                        "(a short run of the chapter's recipe)")
    p.add_argument("--vocab", type=int, default=6000,
                   help="the student's vocabulary: the corpus's most frequent pieces (0: all of MiniLM's)")
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--smoke", action="store_true", help="tiny sizes, one epoch: checks that the script runs")
    return p.parse_args(argv)


def teacher_model(config, tensors, x_train, y_train, x_val, y_val, cache, epochs):
    """MiniLM (c) fine-tuned with the chapter's recipe; weights cached in ``cache`` when given."""
    cu.set_seed(1)
    encoder = bert.build_bert(**config, name="minilm", seed=0)
    bert.load_hf_weights(encoder, tensors)
    model = bert.build_classifier(encoder, name="classifier_c")
    if cache is not None and cache.exists():
        model.load_weights(cache)
        print(f"teacher weights read from {cache}", flush=True)
        return model
    t0 = time.perf_counter()
    finetune.fine_tune(model, x_train, y_train, x_val, y_val, epochs=epochs, peak_lr=5e-5, batch_size=32,
                       group_by_length=True)
    print(f"teacher fine-tuned in {time.perf_counter() - t0:.0f} s", flush=True)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        model.save_weights(cache)
    return model


def pretrain_minibert(encoder, rows, vocab, steps_epochs, max_predictions=24):
    """A short masked-language-model run of the chapter's recipe on ``rows`` (small-vocabulary ids)."""
    max_predictions = min(max_predictions, rows.shape[1])
    mlm = bert.build_mlm(encoder, max_predictions)
    specials = list(range(len(text.SPECIAL_TOKENS)))
    mask_id = text.SPECIAL_TOKENS.index("[MASK]")
    masked = text.gather_predictions(*text.mask_tokens(rows, mask_id, vocab, specials, mask_rate=0.3, seed=0),
                                     max_predictions)
    steps = steps_epochs * -(-len(rows) // 64)
    mlm.compile(optimizer=keras.optimizers.AdamW(finetune.WarmupLinearDecay(2e-3, steps // 10, steps),
                                                 weight_decay=0.01, beta_2=0.98),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True,
                                                                reduction="mean_with_sample_weight"))
    mlm.fit(list(masked[0]), masked[1], sample_weight=masked[2], batch_size=64, epochs=steps_epochs,
            verbose=0)


def main(argv=None):
    args = parse_args(argv)
    if args.temperature <= 0:
        raise SystemExit("--temperature must be > 0")
    seq_len = 16 if args.smoke else args.seq_len
    folder = bert.minilm_folder()
    tokenizer = keras_hub.tokenizers.BertTokenizer.from_preset(str(folder))
    config = bert.read_config(folder)
    if args.smoke:
        config["num_layers"] = 1   # the first block's weights load; the other blocks' are left unused
    tensors = bert.read_safetensors(folder / "model.safetensors")

    splits = data.load_sentence_polarity()
    x_tr, y_tr = splits["train"]
    x_va, y_va = splits["validation"]
    corpus = data.load_review_corpus()
    unlabelled = corpus[len(x_tr):]                  # the Rotten Tomatoes texts (leak-checked when built)
    if args.smoke:
        x_tr, y_tr = data.subset(x_tr, y_tr, 64, seed=0)
        x_va, y_va = data.subset(x_va, y_va, 32, seed=0)
        unlabelled = unlabelled[:64]
    elif args.unlabelled is not None:
        unlabelled = unlabelled[:args.unlabelled]
    encode = lambda texts: finetune.encode_texts(list(texts), tokenizer, seq_len)   # noqa: E731
    X_train, X_val, X_unl = encode(x_tr), encode(x_va), encode(unlabelled)
    y_train, y_val = np.asarray(y_tr), np.asarray(y_va)

    cache = None if args.smoke else results.build_dir() / "ch6_distill" / f"teacher_seq{seq_len}.weights.h5"
    teacher = teacher_model(config, tensors, X_train, y_train, X_val, y_val, cache, 1 if args.smoke else 3)
    teacher_val = float(np.mean(finetune.predict_logits(teacher, X_val).argmax(1) == y_val))
    print(f"teacher validation accuracy {teacher_val:.4f}", flush=True)

    # the chapter's small vocabulary: the most frequent pieces of the unlabelled corpus
    specials = [tokenizer.token_to_id(t) for t in text.SPECIAL_TOKENS]
    corpus_ids = [np.asarray(t) for t in tokenizer(corpus[:2000] if args.smoke else corpus)]
    vocab = 500 if args.smoke else args.vocab
    if vocab:
        old_to_new, _ = text.shrink_vocabulary(corpus_ids, vocab, tokenizer.vocabulary_size(), specials,
                                               tokenizer.token_to_id("[UNK]"))
    else:                                            # MiniLM's own vocabulary: no piece becomes [UNK]
        vocab = tokenizer.vocabulary_size()
        old_to_new = np.arange(vocab)
    mask_id = tokenizer.token_to_id("[MASK]")

    base = np.concatenate([X_train, X_unl])
    parts = [base]
    if args.masked_copies:
        parts.append(distill.augment(base, args.masked_copies, mask_id, specials, mask_rate=args.mask_rate,
                                     ngram_rate=0.0, seed=args.seed + 1))
    if args.ngram_samples:
        parts.append(distill.augment(base, args.ngram_samples, mask_id, specials, mask_rate=0.0,
                                     ngram_rate=1.0, seed=args.seed + 2))
    ids, source = distill.transfer_set(np.concatenate(parts), exclude=[X_val, encode(splits["test"][0])])
    labels = np.where(source < len(y_train), y_train[np.minimum(source, len(y_train) - 1)], -1)
    t0 = time.perf_counter()
    key = (f"seq{seq_len}_m{args.masked_copies}_n{args.ngram_samples}_r{args.mask_rate}_u{args.unlabelled}"
           f"_s{args.seed}")
    logits_cache = None if args.smoke else cache.parent / f"teacher_logits_{key}.npy"
    if logits_cache is not None and logits_cache.exists():   # the same teacher and transfer set as before
        teacher_logits = np.load(logits_cache)
    else:
        teacher_logits = finetune.predict_logits(teacher, ids)
        if logits_cache is not None:
            np.save(logits_cache, teacher_logits)
    print(f"transfer set: {len(ids):,} sentences ({int((labels >= 0).sum()):,} labelled); teacher logits in "
          f"{time.perf_counter() - t0:.0f} s", flush=True)

    cu.set_seed(args.seed)
    heads = 4 if args.hidden % 4 == 0 else 2
    student = distill.build_student(vocab, num_layers=args.layers, num_heads=heads, hidden_dim=args.hidden,
                                    ff_dim=args.ff, max_length=seq_len, seed=args.seed)
    if args.init == "minibert":
        encoder = student.layers[1]
        encoder_rows = old_to_new[np.concatenate([X_train, X_unl])]
        pretrain_minibert(encoder, encoder_rows, vocab, 1 if args.smoke else 12)
    t0 = time.perf_counter()
    acc = distill.fit_student(student, old_to_new[ids], teacher_logits, labels, old_to_new[X_val], y_val,
                              epochs=1 if args.smoke else args.epochs, peak_lr=args.lr,
                              temperature=args.temperature, alpha=args.alpha, batch_size=args.batch_size,
                              seed=args.seed)
    for epoch, a in enumerate(acc, 1):
        print(f"epoch {epoch}: student validation accuracy {a:.4f}")
    print(f"student trained in {time.perf_counter() - t0:.0f} s; "
          f"best student validation accuracy {max(acc):.4f} "
          f"(teacher {teacher_val:.4f}); knobs: T={args.temperature} alpha={args.alpha} epochs={args.epochs} "
          f"lr={args.lr} masked_copies={args.masked_copies} ngram_samples={args.ngram_samples} "
          f"init={args.init} vocab={vocab} layers={args.layers}", flush=True)


if __name__ == "__main__":
    main()
