"""Labelled data: our JSONL corpus, or any CSV/JSONL/XLSX export with a text and a label column."""
from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

from bot.core.config import ROOT

DATA_DIR = ROOT / "training_data"
SOURCES = DATA_DIR / "sources"
TRAIN = DATA_DIR / "train.jsonl"
TEST = DATA_DIR / "test_frozen.jsonl"
CORRECTIONS = DATA_DIR / "corrections.jsonl"

TEXT_COLUMNS = ("text", "content", "message", "诉求内容", "投诉内容", "内容", "来电内容", "事项内容", "描述", "问题描述")
LABEL_COLUMNS = ("label", "sector", "category", "类别", "分类", "行业", "行业分类", "所属行业", "类型", "标签")


class DatasetError(ValueError):
    """A file we cannot train on, with a message that says what to fix."""


def _pick(columns: list[str], wanted: str | None, candidates: tuple[str, ...], what: str) -> str:
    if wanted:
        if wanted not in columns:
            raise DatasetError(f"no {what} column {wanted!r}; columns are: {', '.join(columns)}")
        return wanted
    lowered = {c.lower().strip(): c for c in columns}
    for name in candidates:
        if name.lower() in lowered:
            return lowered[name.lower()]
    raise DatasetError(f"cannot tell which column holds the {what}; columns are: {', '.join(columns)}; "
                       f"name it with --{what}-column")


def _rows(path: Path) -> list[dict]:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        rows = []
        for n, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as exc:
                    raise DatasetError(f"{path}:{n}: not JSON ({exc})") from exc
        return rows
    if suffix in (".csv", ".tsv"):
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise DatasetError(f"{path}: neither UTF-8 nor GB18030")
        dialect = csv.excel_tab if suffix == ".tsv" else csv.excel
        return list(csv.DictReader(text.splitlines(), dialect=dialect))
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
        rows_iter = sheet.iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(rows_iter, [])]
        return [{h: ("" if v is None else v) for h, v in zip(header, row)} for row in rows_iter]
    raise DatasetError(f"{path}: unsupported file type {suffix} (use .jsonl, .csv, .tsv or .xlsx)")


def load_labelled(path: str | Path, text_column: str | None = None, label_column: str | None = None) -> list[dict]:
    """Records with at least "text" and "label"; other fields of our format are kept."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path} does not exist")
    rows = _rows(path)
    if not rows:
        raise DatasetError(f"{path} holds no records")
    columns = list(rows[0].keys())
    text_col = _pick(columns, text_column, TEXT_COLUMNS, "text")
    label_col = _pick(columns, label_column, LABEL_COLUMNS, "label")
    records = []
    for row in rows:
        text = str(row.get(text_col) or "").strip()
        label = str(row.get(label_col) or "").strip()
        if text and label:
            records.append({**row, "text": text, "label": label})
    if len({r["label"] for r in records}) < 2:
        raise DatasetError(f"{path}: need at least two different labels to train")
    return records


def kinds(records: list[dict]) -> list[str | None] | None:
    """Each record's "kind" (which family of its label, e.g. an advert among the `none`), or None if no record has one."""
    found = [str(r["kind"]).strip().lower() or None if r.get("kind") else None for r in records]
    return found if any(found) else None


def digest(records: list[dict]) -> str:
    h = hashlib.sha256()
    for r in records:
        kind = f"\t{r['kind']}" if r.get("kind") else ""
        h.update(f"{r['label']}\t{r['text']}{kind}\n".encode())
    return h.hexdigest()


def load_sources() -> list[dict]:
    records = []
    for path in sorted(SOURCES.glob("*.jsonl")):
        records.extend(_rows(path))
    return records


def in_test_split(text: str, test_share: float = 0.2) -> bool:
    """Membership is a function of the text alone, so the split never moves a record.

    Adding messages to the corpus later assigns only the new ones; nothing
    that was in the frozen test split can ever reach training.
    """
    bucket = int(hashlib.sha256(("fangxin-split:" + text).encode()).hexdigest()[:8], 16) % 10_000
    return bucket < test_share * 10_000


def make_split(records: list[dict], test_share: float = 0.2) -> tuple[list[dict], list[dict]]:
    train, test = [], []
    for record in records:
        (test if in_test_split(record["text"], test_share) else train).append(record)
    return train, test


def write_jsonl(path: Path, records: list[dict]) -> None:
    keys = ("text", "label", "town", "amount", "phone", "merchant")
    with path.open("w", encoding="utf-8") as fh:
        for r in records:
            record = {k: r.get(k) for k in keys}
            if r.get("kind"):
                record["kind"] = r["kind"]
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
