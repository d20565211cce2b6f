"""python -m bot.classifier {split,train,cv,predict,evaluate,compare}."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bot.classifier import datasets
from bot.classifier.evaluation import classification_report, field_accuracy, field_misses


def _settings():
    from bot.core.config import load_settings

    return load_settings()


def _progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _print_report(report: dict, title: str) -> None:
    print(f"{title}: n={report['n']}  accuracy={report['accuracy']:.4f}  macro-F1={report['macro_f1']:.4f}")
    print(f"  {'class':24} {'prec':>6} {'recall':>6} {'f1':>6} {'n':>5}")
    for label, row in report["per_class"].items():
        print(f"  {label:24} {row['precision']:6.3f} {row['recall']:6.3f} {row['f1']:6.3f} {row['support']:5d}")
    if report.get("confusions"):
        print("  most frequent confusions (gold -> predicted):")
        for c in report["confusions"][:10]:
            print(f"    {c['gold']} -> {c['predicted']}: {c['count']}")
    if "fields" in report:
        print("  extracted fields: " + "  ".join(f"{k}={v:.4f}" for k, v in report["fields"].items()))
    if report.get("field_misses"):
        print("  misses on complaints / on non-complaints: " + "  ".join(
            f"{k} {v['complaints']}/{v['non_complaints']}" for k, v in report["field_misses"].items()))


def cmd_split(args) -> int:
    """Rebuild train/test from sources/; a record's side depends only on its text, so it never moves."""
    records = datasets.load_sources()
    before = {r["text"] for r in datasets.load_labelled(datasets.TEST)} if datasets.TEST.exists() else set()
    train, test = datasets.make_split(records)
    test_texts = {r["text"].strip() for r in test}  # load_labelled strips, so compare like with like
    dropped = before - test_texts
    datasets.write_jsonl(datasets.TRAIN, train)
    datasets.write_jsonl(datasets.TEST, test)
    print(f"train: {len(train)}  frozen test: {len(test)} ({len(test_texts - before)} new, "
          f"{len(dropped)} no longer in sources/)")
    return 0


def training_records(data: str | None, text_column: str | None, label_column: str | None,
                     with_corrections: bool) -> list[dict]:
    path = Path(data) if data else datasets.TRAIN
    records = datasets.load_labelled(path, text_column, label_column)
    if with_corrections and datasets.CORRECTIONS.exists():
        corrections = datasets.load_labelled(datasets.CORRECTIONS)
        _progress(f"adding {len(corrections)} staff corrections")
        records += corrections
    return records


def cmd_train(args) -> int:
    from bot.classifier.model import train_on_records

    settings = _settings()
    records = training_records(args.data, args.text_column, args.label_column, args.with_corrections)
    _progress(f"training on {len(records)} messages from {args.data or datasets.TRAIN}")
    model, report = train_on_records(records, features=args.features, progress=_progress)
    out = Path(args.out) if args.out else settings.model_path
    model.save(out, settings.secret_key)
    _progress(f"model written to {out} (threshold {model.threshold}, rjieba fast path "
              f"{'on' if model.meta['rjieba_equivalent'] else 'off'})")
    _print_report(report, "out-of-fold on the training data")
    print(f"  confidence threshold {report['threshold']}: {report['coverage_at_threshold']:.1%} of messages above it, "
          f"{report['accuracy_at_threshold']:.1%} of those right")
    return 0


def cmd_cv(args) -> int:
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    from bot.classifier.model import build_pipeline, fitted_classes, merge_columns, sample_weights

    records = datasets.load_labelled(args.file, args.text_column, args.label_column)
    texts = [r["text"] for r in records]
    labels = np.asarray([r["label"] for r in records])
    fitted, label_of = fitted_classes(labels, datasets.kinds(records))
    classes = np.array(sorted(set(labels.tolist())))
    splitter = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=13)
    accuracies, f1s = [], []
    for fold, (train_idx, test_idx) in enumerate(splitter.split(texts, labels), 1):
        pipeline = build_pipeline(args.features)
        pipeline.fit([texts[i] for i in train_idx], fitted[train_idx],
                     classifier__sample_weight=sample_weights(labels[train_idx]))
        proba = merge_columns(pipeline.predict_proba([texts[i] for i in test_idx]),
                              pipeline.classes_, label_of)
        predicted = classes[proba.argmax(axis=1)]
        report = classification_report(list(labels[test_idx]), list(predicted))
        accuracies.append(report["accuracy"])
        f1s.append(report["macro_f1"])
        if not args.json:
            _progress(f"fold {fold}/{args.folds}: accuracy {report['accuracy']:.4f} macro-F1 {report['macro_f1']:.4f}")
    result = {"n": len(records), "folds": args.folds, "features": args.features,
              "accuracy": round(float(np.mean(accuracies)), 4), "accuracy_std": round(float(np.std(accuracies)), 4),
              "macro_f1": round(float(np.mean(f1s)), 4), "macro_f1_std": round(float(np.std(f1s)), 4)}
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(f"{args.folds}-fold CV on {len(records)} records ({args.features}): "
              f"accuracy {result['accuracy']:.4f} ± {result['accuracy_std']:.4f}, "
              f"macro-F1 {result['macro_f1']:.4f} ± {result['macro_f1_std']:.4f}")
    return 0


def _load_model(path: str | None):
    from bot.classifier.model import SectorClassifier

    settings = _settings()
    return SectorClassifier.load(Path(path) if path else settings.model_path, settings.secret_key)


def cmd_predict(args) -> int:
    from bot.classifier.extraction import extract

    model = _load_model(args.model)
    text = " ".join(args.text)
    prediction = model.predict(text)
    result = {**prediction.as_dict(), "reasons": model.explain(text, prediction.label),
              "fields": extract(text, is_complaint=prediction.money_in_dispute).as_dict()}
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    kind = f" ({prediction.kind})" if prediction.kind else ""
    note = "" if prediction.confident else "  (below threshold: ask the consumer / manual triage)"
    if prediction.maybe_complaint:
        note = "  (the sectors together hold even odds: the bot asks whether this is a complaint)"
    print(f"sector: {prediction.label}{kind}  confidence {prediction.confidence:.2f}{note}")
    print("top-3:  " + "  ".join(f"{k} {v:.2f}" for k, v in prediction.top))
    print("why:    " + "  ".join(f"{t}({w:+.2f})" for t, w in result["reasons"]))
    for key, value in result["fields"].items():
        print(f"{key + ':':15} {value}")
    return 0


def evaluate_records(model, records: list[dict]) -> dict:
    from bot.classifier.extraction import extract

    predictions = model.predict_many([r["text"] for r in records])
    report = classification_report([r["label"] for r in records], [p.label for p in predictions])
    # what the bot records: facts of complaints, and of the `none` readings it puts to the consumer as a question
    # (no sum from one that reads most like an advert)
    extracted = [extract(r["text"], is_complaint=p.money_in_dispute).as_dict()
                 for r, p in zip(records, predictions)]
    report["fields"] = field_accuracy(records, extracted)
    report["field_misses"] = field_misses(records, extracted)
    none_row = report["per_class"].get("none")
    report["none_recall"] = none_row["recall"] if none_row else None
    return report


def cmd_evaluate(args) -> int:
    model = _load_model(args.model)
    records = datasets.load_labelled(args.file, args.text_column, args.label_column)
    report = evaluate_records(model, records)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        _print_report(report, f"evaluation on {args.file}")
    return 0


def cmd_compare(args) -> int:
    """Word features alone vs character n-grams alone vs both, by cross-validation on the training split."""
    rows = []
    for features in ("word", "char", "word+char"):
        ns = argparse.Namespace(file=str(args.file or datasets.TRAIN), folds=args.folds, features=features,
                                json=True, text_column=None, label_column=None)
        import contextlib
        import io

        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            cmd_cv(ns)
        rows.append(json.loads(buffer.getvalue()))
    print(f"{'features':10} {'accuracy':>16} {'macro-F1':>16}")
    for r in rows:
        print(f"{r['features']:10} {r['accuracy']:.4f} ± {r['accuracy_std']:.4f} {r['macro_f1']:.4f} ± "
              f"{r['macro_f1_std']:.4f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.classifier", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def columns(p):
        p.add_argument("--text-column", help="column with the message text (auto-detected by default)")
        p.add_argument("--label-column", help="column with the label (auto-detected by default)")

    p = sub.add_parser("split", help="rebuild train.jsonl / test_frozen.jsonl from training_data/sources")
    p.set_defaults(func=cmd_split)

    p = sub.add_parser("train", help="train and save the model")
    p.add_argument("--data", help="labelled CSV/JSONL/XLSX (default: training_data/train.jsonl)")
    p.add_argument("--out", help="model path (default: FANGXIN_MODEL_PATH)")
    p.add_argument("--features", default="word+char", choices=["word", "char", "word+char"])
    p.add_argument("--with-corrections", action="store_true", help="add training_data/corrections.jsonl")
    columns(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("cv", help="stratified K-fold cross-validation on any labelled file")
    p.add_argument("file")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--features", default="word+char", choices=["word", "char", "word+char"])
    p.add_argument("--json", action="store_true")
    columns(p)
    p.set_defaults(func=cmd_cv)

    p = sub.add_parser("predict", help="classify one message and show the extracted fields")
    p.add_argument("text", nargs="+")
    p.add_argument("--model")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("evaluate", help="accuracy, macro-F1, per-class scores and field accuracy on a file")
    p.add_argument("file")
    p.add_argument("--model")
    p.add_argument("--json", action="store_true")
    columns(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("compare", help="word vs char vs word+char features, by cross-validation")
    p.add_argument("--file")
    p.add_argument("--folds", type=int, default=5)
    p.set_defaults(func=cmd_compare)

    args = parser.parse_args(argv)
    from bot.classifier.model import ModelError
    from bot.classifier.datasets import DatasetError

    try:
        return args.func(args)
    except (ModelError, DatasetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
