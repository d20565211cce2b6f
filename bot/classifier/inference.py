"""A fitted pipeline as plain arrays, so that predicting needs numpy and scipy.sparse but not scikit-learn.

Importing scikit-learn takes about 0.7 s here (it pulls in scipy.stats), more than
half of a worker's cold start. Training still uses scikit-learn;
`LinearTextModel.from_pipeline` copies out what prediction uses: each TF-IDF
block's vocabulary and idf weights, the linear SVM's weights and the sigmoid
calibrators. `train` checks that the copy gives the pipeline's probabilities
before it is saved, and the tests check it again on the frozen split.

The file is an uncompressed .npz read with allow_pickle=False: loading a model
runs no code from the file.
"""
from __future__ import annotations

import io
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from bot.classifier import tokenizer

_WHITE_SPACES = re.compile(r"\s\s+")  # scikit-learn's char_wb normalisation


class IncompatiblePipeline(ValueError):
    """A pipeline whose steps this module does not know how to copy."""


def char_wb_ngrams(text: str, ngram_range: tuple[int, int]) -> list[str]:
    """Character n-grams inside word boundaries, padded with a space: scikit-learn's "char_wb" analyzer."""
    text = _WHITE_SPACES.sub(" ", text)
    low, high = ngram_range
    grams: list[str] = []
    for word in text.split():
        word = f" {word} "
        length = len(word)
        for n in range(low, high + 1):
            offset = 0
            grams.append(word[offset:offset + n])
            while offset + n < length:
                offset += 1
                grams.append(word[offset:offset + n])
            if offset == 0:  # a word shorter than n counts once
                break
    return grams


@dataclass
class TfidfBlock:
    """One TF-IDF vectorizer of the feature union: which tokens, their column and idf weight."""
    analyzer: str  # "word" (tokenizer.word_ngrams) or "char_wb"
    ngram_range: tuple[int, int]
    vocabulary: dict[str, int]
    idf: np.ndarray

    def tokens(self, text: str) -> list[str]:
        if self.analyzer == "word":
            return tokenizer.word_ngrams(text)
        return char_wb_ngrams(tokenizer.char_text(text), self.ngram_range)

    def row(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Column indices and L2-normalised sublinear TF-IDF values of one message."""
        counts = Counter(self.vocabulary[t] for t in self.tokens(text) if t in self.vocabulary)
        if not counts:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
        columns = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float64, count=len(counts))
        values = tf * self.idf[columns]
        norm = math.sqrt(float(values @ values))
        return columns, (values / norm if norm else values)


def label_merge(subclass_labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted labels, and the 0/1 matrix that sums sub-class probability columns into them."""
    subclass_labels = np.asarray(subclass_labels).astype(str)
    labels = np.array(sorted(set(subclass_labels.tolist())))
    return labels, (subclass_labels[:, None] == labels[None, :]).astype(np.float64)


class LinearTextModel:
    """TF-IDF blocks, a linear one-vs-rest scorer and per-class sigmoid calibration.

    A label may have been fitted as several sub-classes (the kinds of `none`: praise, ads,
    follow-ups...): one hyperplane per kind separates a mixed class from the sectors better than one
    hyperplane for all of it. `subclass_labels` names each fitted class's label; probabilities are
    summed per label, so callers only ever see labels.
    """

    def __init__(self, classes: np.ndarray, blocks: list[TfidfBlock], coef: np.ndarray, intercept: np.ndarray,
                 sigmoid_a: np.ndarray, sigmoid_b: np.ndarray, subclass_labels: np.ndarray | None = None) -> None:
        self.subclasses = np.asarray(classes).astype(str)  # the classes as fitted
        self.subclass_labels = (self.subclasses if subclass_labels is None
                                else np.asarray(subclass_labels).astype(str))
        if len(self.subclass_labels) != len(self.subclasses):
            raise ValueError("one label per fitted class is needed")
        self.classes_, self._merge = label_merge(self.subclass_labels)
        self._merged = len(self.classes_) != len(self.subclasses)
        self.blocks = blocks
        self.coef = coef                # (n_models, n_subclasses, n_features); one row when there are two
        self.intercept = intercept      # (n_models, n_subclasses)
        self.sigmoid_a = sigmoid_a      # (n_models, n_subclasses)
        self.sigmoid_b = sigmoid_b
        self._offsets = np.cumsum([0] + [len(b.vocabulary) for b in blocks])
        self._weights = [np.ascontiguousarray(c.T, dtype=np.float64) for c in coef]  # converted once, not per call
        self._names: list[str] | None = None
        self._class_weights: np.ndarray | None = None

    # -- prediction ------------------------------------------------------------
    def transform(self, texts: Sequence[str]):
        from scipy.sparse import csr_matrix

        indptr, indices, data = [0], [], []
        for text in texts:
            stored = 0
            for block, offset in zip(self.blocks, self._offsets):
                columns, values = block.row(text)
                indices.append(columns + offset)
                data.append(values)
                stored += len(columns)
            indptr.append(indptr[-1] + stored)
        shape = (len(texts), int(self._offsets[-1]))
        if not data:
            return csr_matrix(shape)
        return csr_matrix((np.concatenate(data), np.concatenate(indices), indptr), shape=shape)

    def subclass_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities over the fitted sub-classes (`subclasses`)."""
        features = self.transform(texts)
        n_classes = len(self.subclasses)
        total = np.zeros((len(texts), n_classes))
        for weights, intercept, a, b in zip(self._weights, self.intercept, self.sigmoid_a, self.sigmoid_b):
            scores = np.asarray(features @ weights) + intercept
            calibrated = 1.0 / (1.0 + np.exp(a * scores + b))
            if n_classes == 2:  # one score, for the second class
                proba = np.column_stack([1.0 - calibrated[:, 0], calibrated[:, 0]])
            else:
                denominator = calibrated.sum(axis=1, keepdims=True)
                proba = np.divide(calibrated, denominator, out=np.full_like(calibrated, 1 / n_classes),
                                  where=denominator != 0)
            proba[(proba > 1.0) & (proba <= 1.0 + 1e-5)] = 1.0
            total += proba
        return total / len(self.coef)

    def merge(self, subclass_proba: np.ndarray) -> np.ndarray:
        """Probabilities over the labels (`classes_`), each the sum over its sub-classes."""
        return subclass_proba @ self._merge if self._merged else subclass_proba

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.merge(self.subclass_proba(texts))

    # -- explanation -------------------------------------------------------------
    def feature_names(self) -> list[str]:
        if self._names is None:
            names: list[str] = []
            for block in self.blocks:
                by_column = [""] * len(block.vocabulary)
                for term, column in block.vocabulary.items():
                    by_column[column] = term
                names.extend(by_column)
            self._names = names
        return self._names

    def class_weights(self) -> np.ndarray:
        """(n_subclasses, n_features): how much each term pushes towards each fitted class (computed once)."""
        if self._class_weights is None:
            mean = self.coef.mean(axis=0)
            self._class_weights = np.vstack([-mean[0], mean[0]]) if len(self.subclasses) == 2 else mean
        return self._class_weights

    def term_weights(self, row, label: str) -> np.ndarray:
        """For each term stored in `row` (one transformed message), its push towards `label`.

        A label fitted as sub-classes is explained through the sub-class this message scores highest on:
        the reasons for "not a complaint" in an advert are the advert's words.
        """
        weights = self.class_weights()
        candidates = np.flatnonzero(self.subclass_labels == label)
        best = candidates[0]
        if len(candidates) > 1:
            scores = np.asarray(row @ weights[candidates].T).ravel()
            best = candidates[int(np.argmax(scores))]
        return row.data * weights[best, row.indices]

    # -- from scikit-learn -------------------------------------------------------
    @classmethod
    def from_pipeline(cls, pipeline, subclass_labels: dict[str, str] | None = None) -> "LinearTextModel":
        """Copy a fitted Pipeline(FeatureUnion of TfidfVectorizers, CalibratedClassifierCV(sigmoid, linear)).

        subclass_labels: the label of each fitted class that is a sub-class of another label.
        """
        features = pipeline.named_steps["features"]
        calibrated = pipeline.named_steps["classifier"]
        blocks = []
        for name, vectorizer in features.transformer_list:
            if features.transformer_weights or not vectorizer.sublinear_tf or vectorizer.norm != "l2" \
                    or not vectorizer.use_idf:
                raise IncompatiblePipeline(f"{name}: only sublinear, idf-weighted, L2-normalised TF-IDF is supported")
            if vectorizer.analyzer is tokenizer.word_ngrams:
                analyzer = "word"
            elif vectorizer.analyzer == "char_wb" and vectorizer.preprocessor is tokenizer.char_text:
                analyzer = "char_wb"
            else:
                raise IncompatiblePipeline(f"{name}: unsupported analyzer {vectorizer.analyzer!r}")
            blocks.append(TfidfBlock(analyzer=analyzer, ngram_range=tuple(vectorizer.ngram_range),
                                     vocabulary={str(k): int(v) for k, v in vectorizer.vocabulary_.items()},
                                     idf=np.asarray(vectorizer.idf_, dtype=np.float64)))
        if getattr(calibrated, "method", None) != "sigmoid":
            raise IncompatiblePipeline("only sigmoid calibration is supported")
        coef, intercept, a, b = [], [], [], []
        for member in calibrated.calibrated_classifiers_:
            if list(member.estimator.classes_) != list(calibrated.classes_):
                raise IncompatiblePipeline("the calibrated estimator's classes differ from the pipeline's")
            coef.append(np.asarray(member.estimator.coef_, dtype=np.float32))
            intercept.append(np.asarray(member.estimator.intercept_, dtype=np.float64))
            a.append([float(c.a_) for c in member.calibrators])
            b.append([float(c.b_) for c in member.calibrators])
        classes = np.asarray(calibrated.classes_).astype(str)
        labels = np.array([(subclass_labels or {}).get(c, c) for c in classes])
        return cls(classes=classes, blocks=blocks, coef=np.stack(coef), intercept=np.stack(intercept),
                   sigmoid_a=np.asarray(a), sigmoid_b=np.asarray(b), subclass_labels=labels)

    # -- persistence -------------------------------------------------------------
    def to_bytes(self) -> bytes:
        arrays: dict[str, np.ndarray] = {
            "classes": self.subclasses, "labels": self.subclass_labels, "coef": self.coef,
            "intercept": self.intercept,
            "sigmoid_a": self.sigmoid_a, "sigmoid_b": self.sigmoid_b,
            "blocks": np.asarray([f"{b.analyzer}:{b.ngram_range[0]}:{b.ngram_range[1]}" for b in self.blocks]),
        }
        for i, block in enumerate(self.blocks):
            terms = sorted(block.vocabulary, key=block.vocabulary.__getitem__)
            if any("\n" in t for t in terms):
                raise IncompatiblePipeline("a vocabulary term holds a newline")
            arrays[f"terms_{i}"] = np.frombuffer("\n".join(terms).encode("utf-8"), dtype=np.uint8)
            arrays[f"idf_{i}"] = block.idf
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_file(cls, path: Path) -> "LinearTextModel":
        with np.load(path, allow_pickle=False) as data:
            blocks = []
            for i, spec in enumerate(data["blocks"]):
                analyzer, low, high = str(spec).split(":")
                blob = data[f"terms_{i}"].tobytes().decode("utf-8")
                terms = blob.split("\n") if blob else []
                blocks.append(TfidfBlock(analyzer=analyzer, ngram_range=(int(low), int(high)),
                                         vocabulary=dict(zip(terms, range(len(terms)))), idf=data[f"idf_{i}"]))
            return cls(classes=data["classes"], blocks=blocks, coef=data["coef"], intercept=data["intercept"],
                       sigmoid_a=data["sigmoid_a"], sigmoid_b=data["sigmoid_b"], subclass_labels=data["labels"])
