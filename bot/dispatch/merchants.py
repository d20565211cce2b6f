"""The merchant registry: matching a consumer's merchant text, and CSV import/export.

Matching (``match_merchant``) turns what the consumer wrote ("鼎盛健生",
"美团上买的", "乌镇老街饭店") into a registered merchant, or into *nothing*:
an unmatched name stays free text on the ticket and no merchant is ever
invented. Names and aliases are compared in their ``normalise_name`` form.
The stages, first hit wins:

1. exact — the text equals a registered name;
2. alias — it equals a registered alias;
3. fuzzy — scored against every name and alias (``_score_key``), a match
   needs ``threshold`` (85):
   * containment: a registered name/alias that is more than a bare trade
     word appears inside the text ("张记老街饭店" ⊃ "老街饭店",
     "美团上的蜜丝" ⊃ "美团"), or the text is a leading part of a
     registered name that covers its whole 字号 ("蜜丝美容" ⊂ "蜜丝美容院",
     "鼎盛" ⊂ "鼎盛健身", but not "美容"): 90 + 10 × shorter/longer;
   * the exact 字号 followed by a misspelt trade word ("鼎盛健生" for
     "鼎盛健身"): 85 + similarity of the trade words / 10, or by another
     word of the same trade ("老街饭馆" for "老街饭店"): 90;
   * the exact 字号 followed by a known trade word of *another* trade
     ("老街面馆" against "老街饭店", "新华药店" against "新华书店") is
     another business: capped at 70 whatever the character overlap;
   * otherwise rapidfuzz ``fuzz.ratio`` of the whole names (only long names
     reach 85 with a wrong character).

   Plain WRatio/partial_ratio were tried and rejected for short Chinese
   names: one wrong character out of four scores 75 whether it is a typo
   (鼎盛健生/鼎盛健身) or a different shop (阿珍水果/阿强水果,
   新华药店/新华书店), and partial_ratio gives 100 to any generic fragment
   ("美容" in "蜜丝美容院"). Splitting a name into 字号 + trade word is what
   tells them apart. Typos inside the 字号 itself (家润富/家润福) are not
   matched: without pinyin they look exactly like a different shop.

Ties: several merchants are equally good when they have the same score, or
when each of their registered names appears whole in the text ("老街饭店隔壁的
蜜丝美容院"; a name inside a longer registered name does not count: "京东" in
"京东大药房"). The ticket's town breaks the tie (``town_code``, or else the
one town named in the text itself, "乌镇老街饭店"): the only candidate in
that town wins. With no town, or none or several candidates in it, the
result is "none" with the tied candidates listed first: we do not guess.

Platform and shop in one text ("美团上的老街饭店"): the *shop* wins as
``merchant`` — it is the business the consumer dealt with, whose town, ODR
direct settlement and first-contact duty drive dispatch — and the platform is
returned in ``MerchantMatch.platform`` (for ``Ticket.platform_merchant_id``;
the platform's 先行赔付 still applies when the seller does not pay). A
platform alone ("美团上买的，商家不理") is matched as the merchant.

CSV (``import_merchants`` / ``export_merchants``): see ``CSV_COLUMNS`` and
``import_merchants``. Both are text based; ``decode_csv_bytes`` turns a
file's bytes (UTF-8 with or without BOM, or GB18030/GBK as Excel saves "CSV"
on Chinese Windows) into text for them.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Iterable, TextIO

from rapidfuzz import fuzz
from sqlmodel import Session, select

from models import Merchant, Town

# ---------------------------------------------------------------------------
# normalisation

# Legal-form tails: "X有限公司" and "X" are the same enterprise. Longest first.
_LEGAL_TAILS = ("股份有限公司", "有限责任公司", "有限公司", "分公司", "公司")
# Administrative prefixes of registered enterprise names ("桐乡市鼎盛健身有限公司").
_REGION_PREFIXES = ("浙江省", "嘉兴市", "桐乡市")
_REGION_IN_BRACKETS = re.compile(r"[(（\[【](?:浙江省?|嘉兴市?|桐乡市?)[)）\]】]")
_MIN_REST = 2  # never strip a tail or prefix that would leave fewer characters than this


@lru_cache(maxsize=65536)
def normalise_name(name: str) -> str:
    """The comparison form of a merchant name, used for matching and as the import upsert key.

    NFKC (full-width → half-width), lower case, no spaces, punctuation or
    symbols (brackets are dropped but their content kept: "老街饭店（乌镇店）"
    stays distinct from "老街饭店（崇福店）"); the region of a registered name
    ("桐乡市…", "…（桐乡）…") and its legal form ("…有限公司", "…公司") are
    dropped because they never tell two businesses apart. Trade words
    (饭店, 面馆, 店, 旗舰店 …) are kept: "老街饭店" and "老街面馆" are two
    businesses, and a key must never merge two registry rows.
    """
    text = unicodedata.normalize("NFKC", name or "").strip()
    text = _REGION_IN_BRACKETS.sub("", text)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PSZC").casefold()
    for prefix in _REGION_PREFIXES:
        if text.startswith(prefix) and len(text) - len(prefix) >= _MIN_REST:
            text = text[len(prefix):]
            break
    for tail in _LEGAL_TAILS:
        if text.endswith(tail) and len(text) - len(tail) >= _MIN_REST:
            text = text[: -len(tail)]
            break
    return text


# Trade words (行业) that end a shop name; what precedes them is the 字号.
# Words of one family name the same trade ("饭店"/"饭馆"); two known words of
# different families after the same 字号 mean two businesses.
_TRADE_FAMILIES: tuple[tuple[str, ...], ...] = (
    ("饭店", "饭馆", "餐馆", "餐厅", "酒家", "酒楼", "菜馆", "大酒店", "酒店"),
    ("面馆", "面店", "粉面馆"),
    ("小吃", "小吃店", "快餐", "快餐店"),
    ("火锅", "火锅店"), ("烧烤", "烧烤店"),
    ("羊肉馆", "羊肉店"),
    ("农家乐",), ("大排档",), ("食堂",),
    ("面包房", "烘焙", "蛋糕店"),
    ("奶茶店", "茶饮"), ("咖啡", "咖啡馆", "咖啡店"), ("茶馆", "茶楼", "茶室"),
    ("超市", "便利店", "购物中心"), ("商场", "百货", "商厦"),
    ("水果店", "水果", "果业"), ("菜场", "菜市场", "农贸市场"),
    ("书店", "书城", "书局"),
    ("药店", "药房", "大药房", "医药"),
    ("诊所", "门诊部", "医院", "口腔", "牙科"),
    ("眼镜", "眼镜店", "眼镜行"),
    ("健身", "健身房", "健身馆", "健身中心", "健身会所"), ("瑜伽", "瑜伽馆"),
    ("美容", "美容院", "美容馆", "美容店", "美容会所", "美容中心"),
    ("美发", "理发店", "发廊", "造型"), ("美甲", "美甲店"),
    ("养生馆", "足浴", "足道", "按摩"),
    ("宾馆", "旅馆", "旅店", "饭庄"), ("民宿", "客栈"),
    ("旅行社", "旅游"),
    ("培训学校", "培训中心", "培训", "教育", "学校", "学堂", "早教", "幼儿园"),
    ("驾校", "驾驶培训", "驾驶员培训学校"),
    ("手机城", "手机店", "通讯", "数码"),
    ("家电", "电器", "电器城"),
    ("家具", "家居", "家具城"),
    ("装饰", "装修", "装饰工程", "建材"),
    ("汽修", "汽车服务", "修理厂", "汽车维修", "4s店", "车行"),
    ("物业", "物业管理"),
    ("农资", "农资店", "种子店"),
    ("服装", "服装店", "服饰", "女装", "男装", "童装"), ("鞋店", "鞋业"),
    ("毛衫城", "羊毛衫市场", "毛衫市场"), ("皮草城", "皮草", "裘皮"),
    ("珠宝", "金店", "银楼"),
    ("影城", "影院", "电影院"), ("网吧", "网咖"), ("ktv",),
    ("文创", "工艺品"),
    ("宠物店", "宠物医院"),
    ("洗衣店", "干洗店"),
    ("加油站",), ("银行",), ("保险",), ("快递",),
    ("市场",), ("广场",),
)
_FAMILY_OF = {word: i for i, family in enumerate(_TRADE_FAMILIES) for word in family}
_TRADE_LENGTHS = sorted({len(word) for word in _FAMILY_OF}, reverse=True)


@lru_cache(maxsize=65536)
def _split_trade(key: str) -> tuple[str, str]:
    """(字号, trade word) of a normalised name; trade word "" when none is known (longest word wins)."""
    for n in _TRADE_LENGTHS:
        if len(key) > n and key[-n:] in _FAMILY_OF:
            return key[:-n], key[-n:]
    return key, ""


def _trade_prefix(text: str) -> str:
    """The known trade word that ``text`` starts with (longest), or ""."""
    for n in _TRADE_LENGTHS:
        if text[:n] in _FAMILY_OF and len(text) >= n:
            return text[:n]
    return ""


def _same_trade(a: str, b: str) -> bool:
    return _FAMILY_OF.get(a) == _FAMILY_OF.get(b)


# ---------------------------------------------------------------------------
# matching

@dataclass
class MerchantMatch:
    """What ``match_merchant`` found, with what it considered (for the ticket's audit trail)."""

    merchant: Merchant | None    # None: unmatched -> the caller keeps the consumer's text as free text
    method: str                  # "exact" | "alias" | "fuzzy" | "none"
    score: float                 # 100 for exact/alias; for "none" the best candidate's score (0: none at all)
    candidates: list[tuple[int, str, float]]  # (merchant id, name, score) considered, best first
    # a registered platform named alongside the shop ("美团上的老街饭店") -> Ticket.platform_merchant_id;
    # None when no platform was named or the match is itself the platform
    platform: Merchant | None = None

    @property
    def matched(self) -> bool:
        return self.merchant is not None


CONTAINED_BASE = 90.0      # a whole registered name inside the text, or the text a leading part of it
TRADE_TYPO_BASE = 85.0     # exact 字号, misspelt trade word
DIFFERENT_TRADE_CAP = 70.0  # exact 字号, another trade: another business
CANDIDATE_FLOOR = 60.0     # weaker candidates are not worth listing in the audit trail
MAX_CANDIDATES = 5


@dataclass(frozen=True)
class _Entry:
    """The few columns matching needs (loading whole ORM rows dominates the cost on a big registry)."""

    id: int
    name: str
    town_code: str | None
    is_platform: bool
    keys: tuple[str, ...]  # normalised name, then normalised aliases
    trade: str             # trade word of the name ("饭店"), "" if none


@dataclass
class _Scored:
    merchant: _Entry
    score: float
    span: tuple[int, int] | None = None  # where a registered name/alias sits inside the text (containment)


def _contained_ok(query: str, key: str, start: int, merchant_trade: str) -> bool:
    """May ``key`` found at ``start`` inside the consumer's text stand for the merchant?"""
    _, trade = _split_trade(key)
    if not trade and _trade_prefix(key) == key:
        return False  # the key is only a trade word ("健身房"): generic, never a substring hit
    if not trade and merchant_trade:
        # a bare 字号 alias ("老街") followed by another trade ("老街面馆") is another business
        after = _trade_prefix(query[start + len(key):])
        if after and not _same_trade(after, merchant_trade):
            return False
    return True


def _score_key(query: str, key: str, merchant_trade: str) -> tuple[float, tuple[int, int] | None]:
    """Similarity of the consumer's (normalised) text to one registered (normalised) name or alias."""
    if not key:
        return 0.0, None
    if query == key:
        return 100.0, (0, len(query))
    head, trade = _split_trade(key)
    # a registered name/alias inside the text
    if len(key) >= 2 and key in query:
        start = query.find(key)
        if _contained_ok(query, key, start, merchant_trade):
            return CONTAINED_BASE + 10.0 * len(key) / len(query), (start, start + len(key))
    # the text is a leading part of the registered name that covers its 字号
    if len(query) >= 2 and key.startswith(query) and (not trade or len(query) >= len(head)):
        return CONTAINED_BASE + 10.0 * len(query) / len(key), None
    base = fuzz.ratio(query, key)
    at = query.find(head) if trade and len(head) >= 2 else -1
    if at >= 0:
        # the exact 字号 in the text ("鼎盛健生", "美团上的鼎盛健生"): judge the word that follows it
        after = query[at + len(head):]
        after_trade = _trade_prefix(after)
        if after_trade:
            if not _same_trade(after_trade, trade):
                return min(base, DIFFERENT_TRADE_CAP), None  # 老街面馆 is not 老街饭店
            structured, used = TRADE_TYPO_BASE + 5.0, len(after_trade)  # 老街饭馆 for 老街饭店
        else:
            lengths = [n for n in (len(trade) - 1, len(trade), len(trade) + 1) if 1 <= n <= len(after)]
            similarity, used = max(((fuzz.ratio(after[:n], trade), n) for n in lengths), default=(0.0, 0))
            structured = TRADE_TYPO_BASE + similarity / 10.0 if similarity >= 50 else 0.0
        if structured:
            # a little less when the shop name sits inside a longer text
            structured -= 5.0 * (1 - (len(head) + used) / len(query))
            return max(base, structured), None
    # the text names another trade after some 字号: never lift it by character overlap
    q_head, q_trade = _split_trade(query)
    if q_trade and trade and not _same_trade(q_trade, trade) and q_head == head:
        return min(base, DIFFERENT_TRADE_CAP), None
    return float(base), None


def _entries(session: Session) -> list[_Entry]:
    rows = session.exec(select(Merchant.id, Merchant.name, Merchant.aliases, Merchant.town_code,
                               Merchant.is_platform).order_by(Merchant.id))
    entries = []
    for id_, name, aliases, town_code, is_platform in rows:
        keys = [normalise_name(name)]
        for alias in aliases or []:
            key = normalise_name(alias)
            if key and key not in keys:
                keys.append(key)
        entries.append(_Entry(id_, name, town_code, bool(is_platform), tuple(keys), _split_trade(keys[0])[1]))
    return entries


def _towns_named(session: Session, query: str) -> set[str]:
    named = set()
    for town in session.exec(select(Town)):
        for word in (town.name, town.short_name):
            if word and normalise_name(word) in query:
                named.add(town.code)
    return named


def _resolve_tie(tied: list[_Entry], town_code: str | None) -> _Entry | None:
    """One of several equally good merchants: the only one in the ticket's town, else None."""
    distinct = {m.id: m for m in tied}
    if len(distinct) == 1:
        return next(iter(distinct.values()))
    if town_code:
        local = [m for m in distinct.values() if m.town_code == town_code]
        if len(local) == 1:
            return local[0]
    return None


def _candidates(scored: Iterable[tuple[_Entry, float]]) -> list[tuple[int, str, float]]:
    best: dict[int, tuple[int, str, float]] = {}
    for merchant, score in scored:
        if merchant.id not in best or best[merchant.id][2] < score:
            best[merchant.id] = (merchant.id, merchant.name, round(float(score), 1))
    return sorted(best.values(), key=lambda c: (-c[2], c[1], c[0]))[:MAX_CANDIDATES]


def _chosen_first(candidates: list[tuple[int, str, float]], merchant: _Entry) -> list[tuple[int, str, float]]:
    """Candidates best first, the chosen one first among those with its score (a won tie)."""
    return sorted(candidates, key=lambda c: (-c[2], c[0] != merchant.id))


def _pick(hits: list[_Scored], town_code: str | None) -> tuple[_Entry | None, list[_Entry]]:
    """The best of ``hits`` (all above the threshold), or None and the tied merchants."""
    if not hits:
        return None, []
    hits = sorted(hits, key=lambda h: -h.score)
    top = round(hits[0].score, 1)
    tied = [h for h in hits if round(h.score, 1) == top]
    if hits[0].span is not None:
        # several registered names each fully inside the text are equally good, unless one
        # is part of a longer one ("美团" inside "美团外卖"): the longer, more specific wins
        spans = [h for h in hits if h.span is not None]
        def dominated(h: _Scored) -> bool:
            return any(o.span[0] <= h.span[0] and h.span[1] <= o.span[1]
                       and (o.span[1] - o.span[0]) > (h.span[1] - h.span[0]) for o in spans)
        tied = [h for h in spans if not dominated(h)]
    tied_merchants = [h.merchant for h in tied]
    return _resolve_tie(tied_merchants, town_code), tied_merchants


def match_merchant(session: Session, name: str | None, town_code: str | None = None,
                   threshold: float = 85.0) -> MerchantMatch:
    """Find the registered merchant the consumer means, or none — never a guess.

    ``town_code`` (the ticket's town) only breaks ties between equally good
    candidates; ``threshold`` is the lowest fuzzy score accepted (exact and
    alias matches always count). See the module docstring for the rules.
    """
    query = normalise_name(name or "")
    if len(query) < 2:
        return MerchantMatch(None, "none", 0.0, [])
    merchants = _entries(session)
    tie_town = town_code
    if tie_town is None:
        named = _towns_named(session, query)
        tie_town = next(iter(named)) if len(named) == 1 else None

    def load(entry: _Entry | None) -> Merchant | None:
        return None if entry is None else session.get(Merchant, entry.id)

    # 1. exact name, 2. exact alias
    for method, keys_of in (("exact", lambda e: e.keys[:1]), ("alias", lambda e: e.keys[1:])):
        hits = [e for e in merchants if query in keys_of(e)]
        if hits:
            chosen = _resolve_tie(hits, tie_town)
            candidates = _candidates((e, 100.0) for e in hits)
            if chosen is None:
                return MerchantMatch(None, "none", 100.0, candidates)
            return MerchantMatch(load(chosen), method, 100.0, _chosen_first(candidates, chosen))

    # 3. fuzzy (containment, trade-word typos, rapidfuzz ratio)
    scored: list[_Scored] = []
    for entry in merchants:
        best: _Scored | None = None
        for key in entry.keys:
            score, span = _score_key(query, key, entry.trade)
            if best is None or score > best.score or (score == best.score and span and not best.span):
                best = _Scored(entry, score, span)
        if best is not None and best.score > 0:
            scored.append(best)
    candidates = _candidates((s.merchant, s.score) for s in scored if s.score >= CANDIDATE_FLOOR)
    eligible = [s for s in scored if s.score >= threshold]
    shops = [s for s in eligible if not s.merchant.is_platform]
    platforms = [s for s in eligible if s.merchant.is_platform]
    if shops:
        shop, tied = _pick(shops, tie_town)
        # the platform companion must be named outside the shop's own name ("京东" inside "京东大药房" is not)
        tied_ids = {e.id for e in tied}
        shop_spans = [s.span for s in shops if s.span is not None and s.merchant.id in tied_ids]
        named = [p for p in platforms if p.span is not None
                 and not any(o[0] <= p.span[0] and p.span[1] <= o[1] for o in shop_spans)]
        platform, _ = _pick(named, tie_town)
        if shop is None:
            listed = [c for c in candidates if c[0] in tied_ids] + [c for c in candidates if c[0] not in tied_ids]
            return MerchantMatch(None, "none", round(max(s.score for s in shops), 1), listed,
                                 platform=load(platform))
        score = max(s.score for s in shops if s.merchant.id == shop.id)
        return MerchantMatch(load(shop), "fuzzy", round(score, 1), _chosen_first(candidates, shop),
                             platform=load(platform))
    platform, _ = _pick(platforms, tie_town)
    if platform is not None:
        score = max(s.score for s in platforms if s.merchant.id == platform.id)
        return MerchantMatch(load(platform), "fuzzy", round(score, 1), _chosen_first(candidates, platform))
    best_score = candidates[0][2] if candidates else 0.0
    return MerchantMatch(None, "none", best_score, candidates)


# ---------------------------------------------------------------------------
# CSV import / export

CSV_COLUMNS = ["name", "aliases", "town", "address", "is_platform", "advance_compensation", "compensation_cap",
               "offline_return_days", "direct_settlement", "contact_phone"]
_BOOL_FIELDS = ("is_platform", "advance_compensation", "direct_settlement")
_TRUE = {"是", "true", "1", "y", "yes"}
_FALSE = {"否", "false", "0", "n", "no", ""}
_ALIAS_SPLIT = re.compile(r"[|、]")
_PHONE_OK = re.compile(r"^[0-9+\-() ]+(?:转[0-9]+)?$")
_CAP_MAX = Decimal("9999999999.99")  # Numeric(12, 2)
MAX_RETURN_DAYS = 365


@dataclass
class ImportReport:
    """Counts of a merchant import; with any error nothing was (or would be) written and the counts are 0."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)  # "line 7: offline_return_days must be a whole number ≥ 0"

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated)


def decode_csv_bytes(data: bytes) -> str:
    """A CSV file's bytes as text: UTF-8 (BOM or not), else GB18030 (Excel's "CSV" on Chinese Windows).

    UTF-8 is tried first because GB18030 decodes almost any byte string
    without error; a file that is valid UTF-8 is read as UTF-8.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def _town_lookup(session: Session) -> tuple[dict[str, str], dict[str, str]]:
    """(spelling -> town code, code -> canonical name); spellings: code, name, short name, old names."""
    from bot.seed import load_reference

    lookup: dict[str, str] = {}
    names: dict[str, str] = {}
    for town in session.exec(select(Town)):
        names[town.code] = town.name
        for word in (town.code, town.name, town.short_name):
            lookup[unicodedata.normalize("NFKC", word).strip()] = town.code
    for town in load_reference("towns")["towns"]:
        if town["code"] in names:
            for old in town.get("old_names", []):
                lookup.setdefault(unicodedata.normalize("NFKC", old).strip(), town["code"])
    return lookup, names


def _parse_bool(raw: str) -> bool | None:
    value = raw.strip().casefold()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


def _parse_row(cells: dict[str, str], towns: dict[str, str]) -> tuple[dict, list[str]]:
    """Field values of one CSV record, and "column message" errors."""
    errors: list[str] = []
    values: dict = {}

    name = unicodedata.normalize("NFKC", cells["name"]).strip()
    if not name:
        errors.append("name is required")
    elif len(name) > 120:
        errors.append("name is longer than 120 characters")
    elif len(normalise_name(name)) < 2:
        errors.append(f"name {name!r} is too short to identify a merchant")
    values["name"] = name

    aliases: list[str] = []
    seen = {normalise_name(name)}
    for alias in _ALIAS_SPLIT.split(unicodedata.normalize("NFKC", cells["aliases"])):
        alias = alias.strip()
        if not alias:
            continue
        if len(alias) > 120:
            errors.append(f"aliases: {alias[:20]!r}… is longer than 120 characters")
            continue
        key = normalise_name(alias)
        if len(key) < 2:
            errors.append(f"aliases: {alias!r} is too short to identify a merchant")
            continue
        if key not in seen:
            seen.add(key)
            aliases.append(alias)
    values["aliases"] = aliases

    town = unicodedata.normalize("NFKC", cells["town"]).strip()
    if not town:
        values["town_code"] = None
    elif town in towns:
        values["town_code"] = towns[town]
    else:
        errors.append(f"town {town!r} is not a town of 桐乡 (use its name, short name or division code)")
        values["town_code"] = None

    address = cells["address"].strip()
    if len(address) > 200:
        errors.append("address is longer than 200 characters")
    values["address"] = address or None

    for column in _BOOL_FIELDS:
        parsed = _parse_bool(cells[column])
        if parsed is None:
            errors.append(f"{column} must be 是/否 (or true/false, 1/0, y/n), not {cells[column].strip()!r}")
        values[column] = bool(parsed)

    try:
        values["compensation_cap"] = parse_cap(cells["compensation_cap"])
    except FieldProblem:
        values["compensation_cap"] = None
        errors.append("compensation_cap must be an amount in yuan > 0 with at most 2 decimals "
                      f"(empty = no cap), not {cells['compensation_cap'].strip()!r}")
    else:
        if values["compensation_cap"] is not None and not values["advance_compensation"]:
            errors.append("compensation_cap is set but advance_compensation is 否")

    try:
        values["offline_return_days"] = parse_return_days(cells["offline_return_days"])
    except FieldProblem as problem:
        values["offline_return_days"] = 0
        errors.append({"not_integer": "offline_return_days must be a whole number ≥ 0",
                       "below_minimum": "offline_return_days: a no-reason return pledge is at least 7 days "
                                        "(0 = no pledge)",
                       "above_maximum": f"offline_return_days must be at most {MAX_RETURN_DAYS}"}[problem.code])

    try:
        values["contact_phone"] = parse_contact_phone(cells["contact_phone"])
    except FieldProblem:
        values["contact_phone"] = None
        errors.append(f"contact_phone {cells['contact_phone'].strip()!r} is not a phone number "
                      "(digits, +, -, spaces; at most 20)")
    return values, errors


class FieldProblem(ValueError):
    """A merchant field the registry cannot store; `code` names the rule so each caller words it its own way."""

    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code


def parse_cap(text: str | None) -> Decimal | None:
    """A 先行赔付 cap in yuan ("¥5,000元" accepted); empty means no cap."""
    raw = unicodedata.normalize("NFKC", text or "").strip()
    raw = raw.removeprefix("¥").removesuffix("元").replace(",", "").strip()
    if not raw:
        return None
    try:
        cap = Decimal(raw)
        if not cap.is_finite() or cap <= 0 or cap > _CAP_MAX or cap != cap.quantize(Decimal("0.01")):
            raise InvalidOperation
    except InvalidOperation:
        raise FieldProblem("compensation_cap", "amount") from None
    return cap.quantize(Decimal("0.01"))


def parse_return_days(text: str | None) -> int:
    """Offline no-reason return days: 0 (no pledge) or 7..365 (Zhejiang's guideline: at least 7)."""
    raw = unicodedata.normalize("NFKC", text or "").strip()
    if not raw:
        return 0
    if not raw.isdigit():
        raise FieldProblem("offline_return_days", "not_integer")
    days = int(raw)
    if 0 < days < 7:
        raise FieldProblem("offline_return_days", "below_minimum")
    if days > MAX_RETURN_DAYS:
        raise FieldProblem("offline_return_days", "above_maximum")
    return days


def parse_contact_phone(text: str | None) -> str | None:
    phone = unicodedata.normalize("NFKC", text or "").strip()
    if phone and (len(phone) > 20 or not _PHONE_OK.match(phone)):
        raise FieldProblem("contact_phone", "not_phone")
    return phone or None


def _key(name: str, town_code: str | None) -> tuple[str, str]:
    return normalise_name(name), town_code or ""


def import_merchants(session: Session, fh: TextIO, dry_run: bool = False) -> ImportReport:
    """Insert or update merchants from a CSV (all-or-nothing); returns what changed.

    The header row must name every column of ``CSV_COLUMNS`` (any order);
    aliases are separated by "|" or "、"; the town is a canonical name,
    short name, old name or division code (empty: no town, e.g. online
    platforms); booleans are 是/否, true/false, 1/0, y/n (empty = 否); an
    empty cap is no cap. A row updates the merchant with the same
    normalised name and town, else it is inserted; merchants absent from the
    file are left alone. With any invalid line nothing is written and every
    error is reported as "line N: column message"; the caller should still
    roll back. ``dry_run`` reports the counts without writing.
    """
    report = ImportReport()
    text = fh.read()
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = [unicodedata.normalize("NFKC", c).strip().lower() for c in record]
                missing = [c for c in CSV_COLUMNS if c not in header]
                unknown = [c for c in header if c not in CSV_COLUMNS]
                doubled = sorted({c for c in header if header.count(c) > 1})
                if missing or unknown or doubled:
                    problems = []
                    if missing:
                        problems.append("missing " + ", ".join(missing))
                    if unknown:
                        problems.append("unknown " + ", ".join(repr(c) for c in unknown))
                    if doubled:
                        problems.append("repeated " + ", ".join(doubled))
                    report.errors.append(f"line {line}: header {'; '.join(problems)} "
                                         f"(expected: {','.join(CSV_COLUMNS)})")
                    return report
                continue
            if len(record) != len(header):
                report.errors.append(f"line {line}: expected {len(header)} fields, found {len(record)}")
                continue
            rows.append((line, dict(zip(header, record))))
    except csv.Error as exc:
        report.errors.append(f"line {reader.line_num}: not valid CSV ({exc})")
        return report
    if header is None:
        report.errors.append("line 1: header row required (" + ",".join(CSV_COLUMNS) + ")")
        return report

    towns, _ = _town_lookup(session)
    existing: dict[tuple[str, str], list[Merchant]] = defaultdict(list)
    for merchant in session.exec(select(Merchant).order_by(Merchant.id)):
        existing[_key(merchant.name, merchant.town_code)].append(merchant)

    plan: list[tuple[Merchant | None, dict]] = []
    first_line: dict[tuple[str, str], int] = {}
    for line, cells in rows:
        values, errors = _parse_row(cells, towns)
        report.errors.extend(f"line {line}: {message}" for message in errors)
        if errors:
            continue
        key = _key(values["name"], values["town_code"])
        if key in first_line:
            report.errors.append(f"line {line}: name repeats line {first_line[key]} "
                                 "(same name and town; put every alias on one line)")
            continue
        first_line[key] = line
        matches = existing.get(key, [])
        if len(matches) > 1:
            ids = ", ".join(str(m.id) for m in matches)
            report.errors.append(f"line {line}: name matches {len(matches)} merchants of the registry "
                                 f"(ids {ids}); merge them first")
            continue
        plan.append((matches[0] if matches else None, values))

    if report.errors:
        # reading found the malformed records first; report every error in file order
        report.errors.sort(key=lambda e: int(e.split(":", 1)[0].removeprefix("line ")))
        return report
    for merchant, values in plan:
        if merchant is None:
            report.inserted += 1
            if not dry_run:
                session.add(Merchant(**values))
            continue
        changes = {attr: value for attr, value in values.items() if getattr(merchant, attr) != value}
        if not changes:
            report.unchanged += 1
            continue
        report.updated += 1
        if not dry_run:
            for attr, value in changes.items():
                setattr(merchant, attr, value)
            session.add(merchant)
    if not dry_run:
        session.flush()
    return report


def _bool_cell(value: bool) -> str:
    return "是" if value else "否"


def export_merchants(session: Session, fh: TextIO) -> int:
    """Write the whole registry as CSV (header + one row per merchant); returns the number of merchants.

    The output imports back unchanged. No BOM is written: open the file with
    ``encoding="utf-8-sig"`` (and ``newline=""``) when it is meant for Excel.
    """
    _, town_names = _town_lookup(session)
    merchants = sorted(session.exec(select(Merchant)),
                       key=lambda m: (m.town_code or "", normalise_name(m.name), m.id))
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for m in merchants:
        cap = m.compensation_cap
        writer.writerow([
            m.name,
            "|".join(m.aliases or []),
            town_names.get(m.town_code, m.town_code or "") if m.town_code else "",
            m.address or "",
            _bool_cell(m.is_platform),
            _bool_cell(m.advance_compensation),
            "" if cap is None else f"{Decimal(cap).quantize(Decimal('0.01'))}",
            m.offline_return_days,
            _bool_cell(m.direct_settlement),
            m.contact_phone or "",
        ])
    return len(merchants)
