"""Metrics for sector predictions and extracted fields."""
from __future__ import annotations

from collections import Counter
from typing import Sequence

from bot.classifier.labels import NONE

FIELDS = ("town", "amount", "phone", "merchant")


def classification_report(gold: Sequence[str], predicted: Sequence[str]) -> dict:
    """accuracy, macro-F1, per-class precision/recall/F1/support and the most frequent confusions."""
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    labels = sorted(set(gold) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(gold, predicted, labels=labels, zero_division=0)
    per_class = {
        label: {"precision": round(float(p), 4), "recall": round(float(r), 4), "f1": round(float(f), 4),
                "support": int(s)}
        for label, p, r, f, s in zip(labels, precision, recall, f1, support)
    }
    confusions = Counter((g, p) for g, p in zip(gold, predicted) if g != p)
    return {
        "n": len(gold),
        "accuracy": round(float(accuracy_score(gold, predicted)), 4),
        "macro_f1": round(float(f1_score(gold, predicted, labels=sorted(set(gold)), average="macro",
                                         zero_division=0)), 4),
        "per_class": per_class,
        "confusions": [{"gold": g, "predicted": p, "count": n} for (g, p), n in confusions.most_common(20)],
    }


def same_value(field: str, gold, predicted) -> bool:
    if field == "amount":
        if gold is None or predicted is None:
            return gold is None and predicted is None
        return abs(float(gold) - float(predicted)) < 0.005
    if isinstance(gold, str):
        gold = gold.strip() or None
    return gold == predicted


def _judged(records: Sequence[dict], extracted: Sequence[dict], field: str) -> list[tuple[bool, bool]]:
    """(is a non-complaint, extracted right) for each record that carries the field."""
    return [(r.get("label") == NONE, same_value(field, r[field], e.get(field)))
            for r, e in zip(records, extracted) if field in r]


def field_accuracy(records: Sequence[dict], extracted: Sequence[dict]) -> dict:
    """Per field, over the records that carry the field (null included: then nothing must be found)."""
    result = {}
    for field in FIELDS:
        judged = _judged(records, extracted, field)
        if judged:
            result[field] = round(sum(right for _, right in judged) / len(judged), 4)
    return result


def field_misses(records: Sequence[dict], extracted: Sequence[dict]) -> dict:
    """Per field, the misses on complaints and on non-complaints (a price read in an advert the bot asked about)."""
    result = {}
    for field in FIELDS:
        judged = _judged(records, extracted, field)
        if judged:
            result[field] = {"complaints": sum(not none and not right for none, right in judged),
                             "non_complaints": sum(none and not right for none, right in judged)}
    return result
