"""Classifier speed and memory.

    python -m bench.classifier [--model PATH] [--n 2000]

Cold start is measured in a fresh interpreter (import, model load, first
prediction), the way a gunicorn worker starts; then single-message latency
(p50/p99, one message at a time, extraction included), batch throughput and
resident memory. The model defaults to FANGXIN_MODEL_PATH (trained if absent).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

COLD = """
import time, json, sys
t0 = time.perf_counter()
from bot.classifier.model import SectorClassifier
from bot.classifier.extraction import extract
model = SectorClassifier.load(sys.argv[1], sys.argv[2])
t1 = time.perf_counter()
prediction = model.predict("乌镇老街饭店吃饭被多收了两百块，要求退款")
extract("乌镇老街饭店吃饭被多收了两百块，要求退款")
t2 = time.perf_counter()
from bot.classifier import tokenizer
print(json.dumps({"load": t1 - t0, "first": t2 - t1, "total": t2 - t0, "segmenter": tokenizer.segmenter()}))
"""


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model")
    parser.add_argument("--n", type=int, default=2000, help="messages for the latency and throughput runs")
    parser.add_argument("--cold-runs", type=int, default=5)
    args = parser.parse_args()

    from bot.classifier import datasets
    from bot.classifier.runtime import get_classifier
    from bot.core.config import load_settings

    settings = load_settings()
    path = Path(args.model) if args.model else settings.model_path
    get_classifier(path, settings.secret_key)  # trains once if absent

    colds = []
    for _ in range(args.cold_runs):
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", COLD, str(path), settings.secret_key], capture_output=True,
                             text=True, check=True, env={**os.environ})
        wall = time.perf_counter() - start
        colds.append({**json.loads(out.stdout), "process": wall})
    best = min(colds, key=lambda c: c["process"])
    print(f"cold start (fresh process: interpreter + imports + model load + first prediction), best of "
          f"{args.cold_runs}: {best['process']:.2f} s  [in-process: load {best['load']:.2f} s, "
          f"first prediction {best['first'] * 1000:.1f} ms, segmenter {best['segmenter']}]")
    print(f"  median over runs: {statistics.median(c['process'] for c in colds):.2f} s")

    from bot.classifier.extraction import extract

    rss_before = rss_mb()
    model = get_classifier(path, settings.secret_key)
    texts = [r["text"] for r in datasets.load_labelled(datasets.TEST)]
    texts = (texts * (args.n // len(texts) + 1))[:args.n]
    model.predict(texts[0])
    timings = []
    for text in texts:
        start = time.perf_counter()
        model.predict(text)
        extract(text)
        timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    p = lambda q: timings[min(len(timings) - 1, int(len(timings) * q))]  # noqa: E731
    print(f"single message (classify + extract), n={len(timings)}: p50 {p(0.50):.2f} ms  p99 {p(0.99):.2f} ms  "
          f"max {timings[-1]:.2f} ms")
    start = time.perf_counter()
    for i in range(0, len(texts), 256):
        model.predict_many(texts[i:i + 256])
    elapsed = time.perf_counter() - start
    print(f"batch throughput (256 per call, classification only): {len(texts) / elapsed:,.0f} messages/s")
    print(f"resident memory: {rss_mb():.0f} MB (before loading the model in this process: {rss_before:.0f} MB)")


if __name__ == "__main__":
    main()
