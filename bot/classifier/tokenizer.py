"""Tokenization with jieba and the domain dictionary, loaded once per process.

Text is normalised first (lower case, every number becomes "9", punctuation
becomes a space) so that phone numbers and prices do not become features and
so that jieba and rjieba cut the same way. rjieba (jieba's algorithm in
Rust) is used only when the model recorded that it yields exactly jieba's
tokens on the whole training corpus; FANGXIN_SEGMENTER=jieba forces jieba.
"""
from __future__ import annotations

import json
import logging
import os
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Callable

from bot.core.config import ROOT

_NUMBER = re.compile(r"[0-9０-９][0-9０-９.,，]*")
_NOT_WORD = re.compile(r"[^\w\u4e00-\u9fff]+")
DICT_FILE = Path(__file__).with_name("domain_dict.txt")

DOMAIN_WORD_FREQ = 2000  # one explicit frequency, so jieba and rjieba weigh the domain words identically
_lock = threading.Lock()
_backends: dict[str, Callable[[str], list[str]]] = {}
_preferred = "jieba"


def normalise(text: str) -> str:
    text = _NUMBER.sub("9", text.lower())
    return _NOT_WORD.sub(" ", text)


@lru_cache(maxsize=None)
def domain_words() -> tuple[str, ...]:
    words: list[str] = []
    for line in DICT_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            words.append(line.split()[0].lower())
    towns = json.loads((ROOT / "reference_data" / "towns.json").read_text(encoding="utf-8"))["towns"]
    for town in towns:
        words.extend([town["name"], town["short"], *town["old_names"], *town["landmarks"]])
    return tuple(dict.fromkeys(words))


def _load(name: str) -> Callable[[str], list[str]]:
    with _lock:
        if name in _backends:
            return _backends[name]
        if name == "rjieba":
            import rjieba

            for word in domain_words():
                rjieba.add_word(word, DOMAIN_WORD_FREQ, None)
            cut = rjieba.cut
        else:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            for word in domain_words():
                jieba.add_word(word, freq=DOMAIN_WORD_FREQ)
            cut = jieba.lcut
        _backends[name] = cut
        return cut


def use_segmenter(name: str) -> str:
    """Choose the process-wide segmenter ("jieba" or "rjieba"); the environment can veto rjieba."""
    global _preferred
    forced = os.environ.get("FANGXIN_SEGMENTER")
    if forced in ("jieba", "rjieba"):
        name = forced
    if name == "rjieba":
        try:
            import rjieba  # noqa: F401
        except ImportError:
            name = "jieba"
    _preferred = name
    return name


def segmenter() -> str:
    return _preferred


def words(text: str, backend: str | None = None) -> list[str]:
    """Word tokens of a message (the model's word analyzer)."""
    cut = _load(backend or _preferred)
    return [w for w in cut(normalise(text)) if w.strip()]


def word_ngrams(text: str) -> list[str]:
    """Unigrams and bigrams of words; a module-level function so pickled models can refer to it."""
    tokens = words(text)
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]


def char_text(text: str) -> str:
    """The text the character n-gram analyzer sees."""
    return normalise(text)
