"""The merchant registry: name matching and CSV import/export, on a real database."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest
from sqlmodel import func, select

from bot.core.config import ROOT
from bot.dispatch.merchants import (
    CSV_COLUMNS,
    ImportReport,
    MerchantMatch,
    decode_csv_bytes,
    export_merchants,
    import_merchants,
    match_merchant,
    normalise_name,
)
from models import Merchant

SAMPLE = ROOT / "reference_data" / "merchants_sample.csv"
SAMPLE_ROWS = 32

WUTONG, FENGMING, GAOQIAO, WUZHEN, TUDIAN, SHIMEN, CHONGFU = (
    "330483001", "330483003", "330483004", "330483100", "330483102", "330483103", "330483107")
HEADER = ",".join(CSV_COLUMNS)


def csv_text(*rows: str, header: str = HEADER) -> io.StringIO:
    return io.StringIO("\n".join([header, *rows]) + "\n")


def merchant_count(db) -> int:
    with db.session() as session:
        return session.exec(select(func.count()).select_from(Merchant)).one()


@pytest.fixture
def registry(db):
    """The test database with reference_data/merchants_sample.csv imported."""
    with db.session() as session, SAMPLE.open(encoding="utf-8", newline="") as fh:
        report = import_merchants(session, fh)
    assert report == ImportReport(inserted=SAMPLE_ROWS, updated=0, unchanged=0, errors=[])
    return db


# ---------------------------------------------------------------------------
# normalise_name

@pytest.mark.parametrize("raw, normalised", [
    pytest.param("老街饭店", "老街饭店", id="plain"),
    pytest.param(" 老街 饭店。", "老街饭店", id="spaces-and-punctuation"),
    pytest.param("ＭＩＳＳ 美容", "miss美容", id="full-width-and-case"),
    pytest.param("桐乡市鼎盛健身有限公司", "鼎盛健身", id="region-and-legal-form"),
    pytest.param("鼎盛健身（桐乡）股份有限公司", "鼎盛健身", id="region-in-brackets"),
    pytest.param("老街饭店（乌镇店）", "老街饭店乌镇店", id="branch-kept"),
    pytest.param("蜜丝官方旗舰店", "蜜丝官方旗舰店", id="shop-words-kept"),
    pytest.param("公司", "公司", id="never-stripped-to-nothing"),
    pytest.param("桐乡市", "桐乡市", id="prefix-alone-kept"),
    pytest.param("", "", id="empty"),
])
def test_normalise_name(raw, normalised):
    assert normalise_name(raw) == normalised


def test_normalise_keeps_trade_words_apart():
    assert normalise_name("老街饭店") != normalise_name("老街面馆")
    assert normalise_name("新华书店") != normalise_name("新华药店")
    assert normalise_name("老街饭店") != normalise_name("老街饭")


# ---------------------------------------------------------------------------
# match_merchant on the sample registry

# (consumer text, ticket town, method, (name, town) expected or None)
MATCH_CASES = [
    pytest.param("鼎盛健身", None, "exact", ("鼎盛健身", WUTONG), id="exact"),
    pytest.param("  鼎盛 健身！", None, "exact", ("鼎盛健身", WUTONG), id="exact-after-normalising"),
    pytest.param("鑫达汽车服务公司", None, "exact", ("桐乡市鑫达汽车服务有限公司", GAOQIAO), id="exact-legal-form"),
    pytest.param("京东", None, "exact", ("京东", None), id="exact-platform"),
    pytest.param("美团外卖", None, "alias", ("美团", None), id="alias"),
    pytest.param("ＭＩＳＳ美容", None, "alias", ("蜜丝美容院", FENGMING), id="alias-full-width"),
    pytest.param("阿强水果", WUZHEN, "alias", ("阿强水果店", TUDIAN), id="alias-town-is-only-a-tiebreak"),
    pytest.param("鼎盛健生", None, "fuzzy", ("鼎盛健身", WUTONG), id="typo-in-trade-word"),
    pytest.param("蜜丝美容", None, "fuzzy", ("蜜丝美容院", FENGMING), id="shorter-than-registered"),
    pytest.param("鼎盛", None, "fuzzy", ("鼎盛健身", WUTONG), id="zihao-only"),
    pytest.param("明视眼镜行", None, "fuzzy", ("明视眼镜", CHONGFU), id="longer-than-registered"),
    pytest.param("老街面店", None, "fuzzy", ("老街面馆", WUTONG), id="same-trade-other-word"),
    pytest.param("星光电影院", None, "fuzzy", ("星光影城", FENGMING), id="same-trade-other-word-2"),
    pytest.param("张记老街饭店", CHONGFU, "fuzzy", ("老街饭店", CHONGFU), id="registered-name-inside-longer"),
    pytest.param("美团上买的", None, "fuzzy", ("美团", None), id="substring-platform"),
    pytest.param("在拼多多下单", None, "fuzzy", ("拼多多", None), id="substring-platform-2"),
    pytest.param("美团上的老街面馆", None, "fuzzy", ("老街面馆", WUTONG), id="substring-shop-beats-platform"),
    pytest.param("美团上的鼎盛健生", None, "fuzzy", ("鼎盛健身", WUTONG), id="typo-inside-longer-text"),
    pytest.param("老街饭店", WUZHEN, "exact", ("老街饭店", WUZHEN), id="tie-town-wuzhen"),
    pytest.param("老街饭店", CHONGFU, "exact", ("老街饭店", CHONGFU), id="tie-town-chongfu"),
    pytest.param("乌镇老街饭店", None, "fuzzy", ("老街饭店", WUZHEN), id="tie-town-named-in-text"),
    pytest.param("老街饭馆", CHONGFU, "fuzzy", ("老街饭店", CHONGFU), id="tie-town-after-fuzzy"),
    pytest.param("老街饭店", None, "none", None, id="tie-without-town"),
    pytest.param("老街饭店", SHIMEN, "none", None, id="tie-neither-in-town"),
    pytest.param("老街", None, "none", None, id="zihao-shared-by-three"),
    pytest.param("老街饭店隔壁的蜜丝美容院", None, "none", None, id="two-shops-named"),
    pytest.param("淘宝和京东", None, "none", None, id="two-platforms-named"),
    pytest.param("隔壁王师傅", None, "none", None, id="unrelated"),
    pytest.param("阿珍水果", None, "none", None, id="other-zihao-same-trade"),
    pytest.param("家润富超市", None, "none", None, id="zihao-typo-not-guessed"),
    pytest.param("百汇超市", None, "none", None, id="same-zihao-other-trade"),
    pytest.param("老街烧烤", None, "none", None, id="same-zihao-other-trade-2"),
    pytest.param("健身房", None, "none", None, id="trade-word-only"),
    pytest.param("美容", None, "none", None, id="generic-fragment"),
    pytest.param("店", None, "none", None, id="one-character"),
    pytest.param("", None, "none", None, id="empty"),
    pytest.param(None, None, "none", None, id="no-name"),
]


@pytest.mark.parametrize("text, town, method, expected", MATCH_CASES)
def test_match_merchant(registry, text, town, method, expected):
    with registry.session() as session:
        match = match_merchant(session, text, town)
    assert isinstance(match, MerchantMatch)
    assert match.method == method, match
    if expected is None:
        assert match.merchant is None and not match.matched
    else:
        assert (match.merchant.name, match.merchant.town_code) == expected, match
        assert match.score >= (100 if method in ("exact", "alias") else 85)
        assert match.candidates[0][0] == match.merchant.id or match.candidates[0][2] > match.score
    scores = [c[2] for c in match.candidates]
    assert scores == sorted(scores, reverse=True)


def test_unmatched_never_invents_a_merchant(registry):
    before = merchant_count(registry)
    with registry.session() as session:
        for text in ("隔壁王师傅", "小区门口那家水果摊", "某某奶茶店"):
            match = match_merchant(session, text, WUTONG)
            assert match.merchant is None and match.method == "none"
    assert merchant_count(registry) == before


def test_tie_without_town_lists_both_candidates(registry):
    with registry.session() as session:
        match = match_merchant(session, "老街饭店")
        ids = {m.id for m in session.exec(select(Merchant).where(Merchant.name == "老街饭店"))}
    assert match.merchant is None and match.method == "none"
    assert {c[0] for c in match.candidates} == ids and len(ids) == 2
    assert all(c[1] == "老街饭店" and c[2] == 100 for c in match.candidates)


def test_platform_is_kept_beside_the_shop(registry):
    with registry.session() as session:
        shop = match_merchant(session, "美团上的老街面馆")
        alone = match_merchant(session, "美团上买的")
        both = match_merchant(session, "在京东买的金鹰家电")
        inside = match_merchant(session, "拼多多", WUTONG)
    assert shop.merchant.name == "老街面馆" and shop.platform.name == "美团"
    assert [c[1] for c in shop.candidates[:2]] == ["老街面馆", "美团"]  # the platform is in the audit trail too
    assert alone.merchant.name == "美团" and alone.merchant.is_platform and alone.platform is None
    assert both.merchant.name == "金鹰家电" and both.platform.name == "京东"
    assert inside.merchant.name == "拼多多" and inside.platform is None


def test_ambiguous_shop_still_reports_the_platform(registry):
    with registry.session() as session:
        match = match_merchant(session, "美团上的老街饭店")
    assert match.merchant is None and match.method == "none"
    assert match.platform is not None and match.platform.name == "美团"
    assert [c[1] for c in match.candidates[:2]] == ["老街饭店", "老街饭店"]


def test_threshold_applies_to_fuzzy_only(registry):
    with registry.session() as session:
        assert match_merchant(session, "鼎盛健生", threshold=95).method == "none"
        assert match_merchant(session, "鼎盛健生", threshold=95).candidates[0][1] == "鼎盛健身"
        assert match_merchant(session, "美团外卖", threshold=100).method == "alias"


def test_exact_name_beats_another_merchants_alias(db):
    with db.session() as session:
        session.add(Merchant(name="百汇", town_code=FENGMING))
        session.add(Merchant(name="百汇商场", aliases=["百汇"], town_code=WUTONG))
    with db.session() as session:
        match = match_merchant(session, "百汇", WUTONG)
    assert match.method == "exact" and match.merchant.town_code == FENGMING


def test_longer_registered_name_wins_over_the_one_inside_it(db):
    with db.session() as session:
        session.add(Merchant(name="京东", is_platform=True))
        session.add(Merchant(name="京东大药房", town_code=WUTONG))
    with db.session() as session:
        match = match_merchant(session, "在京东大药房买的药")
    assert match.merchant.name == "京东大药房" and match.platform is None


def test_bare_alias_followed_by_another_trade_is_not_a_substring_hit(db):
    with db.session() as session:
        session.add(Merchant(name="老街饭店", aliases=["老街"], town_code=WUZHEN))
    with db.session() as session:
        assert match_merchant(session, "老街面馆").method == "none"
        assert match_merchant(session, "乌镇老街吃饭").merchant.name == "老街饭店"


# ---------------------------------------------------------------------------
# CSV import

def test_sample_import_is_idempotent(registry):
    with registry.session() as session, SAMPLE.open(encoding="utf-8", newline="") as fh:
        report = import_merchants(session, fh)
    assert report == ImportReport(inserted=0, updated=0, unchanged=SAMPLE_ROWS, errors=[])
    assert merchant_count(registry) == SAMPLE_ROWS


def test_sample_contents(registry):
    with registry.session() as session:
        rows = session.exec(select(Merchant)).all()
    platforms = [m for m in rows if m.is_platform]
    assert {m.name for m in platforms} >= {"淘宝", "拼多多", "美团", "京东"}
    assert all(m.advance_compensation and m.compensation_cap and m.town_code is None for m in platforms)
    assert sum(m.direct_settlement for m in rows) >= 5
    assert {m.offline_return_days for m in rows} == {0, 7, 15}
    assert len({m.town_code for m in rows if m.town_code}) >= 9
    same_name = [m for m in rows if m.name == "老街饭店"]
    assert sorted(m.town_code for m in same_name) == [WUZHEN, CHONGFU]
    meituan = next(m for m in rows if m.name == "美团")
    assert meituan.aliases == ["美团外卖", "美团优选"] and meituan.compensation_cap == Decimal("3000.00")


def test_invalid_lines_are_all_reported_and_nothing_is_written(db):
    fh = csv_text(
        "鼎盛健身,,梧桐,,否,否,,0,否,",                        # line 2: fine
        "蜜丝美容院,,凤鸣,,否,否,,七,否,",                      # line 3: days not a number
        ",,梧桐,,否,否,,0,否,",                                  # line 4: no name
        "康和大药房,,西湖,,也许,否,,0,否,",                     # line 5: town, boolean
        "明视眼镜,,崇福,,否,否,1000,3,否,0573-8862x",            # line 6: cap without pledge, days < 7, phone
        "老街饭店,,乌镇,,否,否,,-1,否,",                        # line 7: negative days
        "老街饭店,,乌镇,,否,否,,0,否",                          # line 8: a field short
        "金鹰家电,,洲泉,,否,是,abc,15,是,",                      # line 9: cap
        "鼎盛健身有限公司,,梧桐,,否,否,,0,否,",                  # line 10: same key as line 2
    )
    with db.session() as session:
        report = import_merchants(session, fh)
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 0) and not report.ok
    assert report.errors == [
        "line 3: offline_return_days must be a whole number ≥ 0",
        "line 4: name is required",
        "line 5: town '西湖' is not a town of 桐乡 (use its name, short name or division code)",
        "line 5: is_platform must be 是/否 (or true/false, 1/0, y/n), not '也许'",
        "line 6: compensation_cap is set but advance_compensation is 否",
        "line 6: offline_return_days: a no-reason return pledge is at least 7 days (0 = no pledge)",
        "line 6: contact_phone '0573-8862x' is not a phone number (digits, +, -, spaces; at most 20)",
        "line 7: offline_return_days must be a whole number ≥ 0",
        "line 8: expected 10 fields, found 9",
        "line 9: compensation_cap must be an amount in yuan > 0 with at most 2 decimals (empty = no cap), not 'abc'",
        "line 10: name repeats line 2 (same name and town; put every alias on one line)",
    ]
    assert merchant_count(db) == 0  # not even the good line 2


def test_one_bad_line_keeps_existing_merchants_untouched(registry):
    fh = csv_text("鼎盛健身,,梧桐,新地址,否,否,,0,否,", "美团,,,,是,是,3000,0,maybe,")
    with registry.session() as session:
        report = import_merchants(session, fh)
    assert report.errors == ["line 3: direct_settlement must be 是/否 (or true/false, 1/0, y/n), not 'maybe'"]
    with registry.session() as session:
        gym = session.exec(select(Merchant).where(Merchant.name == "鼎盛健身")).one()
    assert gym.address == "梧桐街道振兴东路288号3楼"


@pytest.mark.parametrize("text, error", [
    pytest.param("", "line 1: header row required", id="empty-file"),
    pytest.param("鼎盛健身,,梧桐,,否,否,,0,否,\n", "line 1: header missing name", id="no-header"),
    pytest.param(HEADER.replace("aliases", "ailases") + "\n", "line 1: header missing aliases; unknown 'ailases'",
                 id="misspelt-column"),
])
def test_header_row_is_required(db, text, error):
    with db.session() as session:
        report = import_merchants(session, io.StringIO(text))
    assert len(report.errors) == 1 and report.errors[0].startswith(error), report.errors
    assert merchant_count(db) == 0


def test_columns_in_any_order_and_blank_lines(db):
    columns = list(reversed(CSV_COLUMNS))
    fh = io.StringIO(",".join(columns) + "\n\n" + "0573-1,是,7,,否,否,,乌镇,,新店\n,,,,,,,,,\n")
    with db.session() as session:
        report = import_merchants(session, fh)
    assert report == ImportReport(inserted=1, updated=0, unchanged=0, errors=[])
    with db.session() as session:
        m = session.exec(select(Merchant)).one()
    assert (m.name, m.town_code, m.direct_settlement, m.offline_return_days, m.contact_phone) == (
        "新店", WUZHEN, True, 7, "0573-1")


@pytest.mark.parametrize("raw, value", [
    ("是", True), ("否", False), ("true", True), ("FALSE", False), ("1", True), ("0", False),
    ("y", True), ("N", False), ("Yes", True), ("no", False), ("", False), (" 是 ", True),
])
def test_booleans(db, raw, value):
    with db.session() as session:
        report = import_merchants(session, csv_text(f"试点商店,,,,{raw},{raw},,0,{raw},"))
        assert report.ok, report.errors
        m = session.exec(select(Merchant)).one()
    assert m.is_platform is value and m.advance_compensation is value and m.direct_settlement is value


@pytest.mark.parametrize("town", ["乌镇镇", "乌镇", "330483100", " 乌镇 "])
def test_town_by_name_short_name_or_code(db, town):
    with db.session() as session:
        assert import_merchants(session, csv_text(f"试点商店,,{town},,否,否,,0,否,")).ok
        assert session.exec(select(Merchant)).one().town_code == WUZHEN


def test_town_by_old_name(db):
    with db.session() as session:
        assert import_merchants(session, csv_text("试点商店,,龙翔,,否,否,,0,否,")).ok
        assert session.exec(select(Merchant)).one().town_code == GAOQIAO


def test_aliases_cap_and_days_parsing(db):
    fh = csv_text('试点商店,"试点、试点店| 试点 |试点商店",濮院,,否,是,"¥5,000元",15,否,')
    with db.session() as session:
        assert import_merchants(session, fh).ok
        m = session.exec(select(Merchant)).one()
    assert m.aliases == ["试点", "试点店"]  # split on | and 、, trimmed, no repeats, not the name itself
    assert m.compensation_cap == Decimal("5000.00") and m.offline_return_days == 15


def test_update_by_normalised_name_and_town(registry):
    fh = csv_text("桐乡市鼎盛健身有限公司,鼎盛健身房,梧桐,梧桐街道振兴东路300号,否,是,500,7,是,0573-88031288",
                  "鼎盛健身,,乌镇,,否,否,,0,否,")
    with registry.session() as session:
        report = import_merchants(session, fh)
    assert report == ImportReport(inserted=1, updated=1, unchanged=0, errors=[])
    with registry.session() as session:
        rows = session.exec(select(Merchant).where(Merchant.name.in_(["鼎盛健身", "桐乡市鼎盛健身有限公司"]))).all()
    by_town = {m.town_code: m for m in rows}
    assert by_town[WUTONG].name == "桐乡市鼎盛健身有限公司" and by_town[WUTONG].compensation_cap == Decimal("500")
    assert by_town[WUZHEN].name == "鼎盛健身"
    assert merchant_count(registry) == SAMPLE_ROWS + 1


def test_dry_run_counts_without_writing(registry):
    fh = csv_text("鼎盛健身,,梧桐,新地址,否,否,,0,否,", "新开的店,,梧桐,,否,否,,0,否,",
                  "美团,美团外卖|美团优选,,,是,是,3000,0,否,")
    with registry.session() as session:
        report = import_merchants(session, fh, dry_run=True)
    assert report == ImportReport(inserted=1, updated=1, unchanged=1, errors=[])
    assert merchant_count(registry) == SAMPLE_ROWS
    with registry.session() as session:
        assert session.exec(select(Merchant).where(Merchant.name == "鼎盛健身")).one().address != "新地址"


def test_bom_is_accepted(db):
    text = "\ufeff" + SAMPLE.read_text(encoding="utf-8")
    with db.session() as session:
        report = import_merchants(session, io.StringIO(text))
    assert report.ok and report.inserted == SAMPLE_ROWS


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_decode_csv_bytes(db, encoding):
    data = SAMPLE.read_text(encoding="utf-8").encode(encoding)
    text = decode_csv_bytes(data)
    assert text == SAMPLE.read_text(encoding="utf-8")
    with db.session() as session:
        assert import_merchants(session, io.StringIO(text)).inserted == SAMPLE_ROWS


# ---------------------------------------------------------------------------
# CSV export

def test_export_then_import_is_unchanged(registry):
    out = io.StringIO()
    with registry.session() as session:
        assert export_merchants(session, out) == SAMPLE_ROWS
    text = out.getvalue()
    lines = text.splitlines()
    assert lines[0] == HEADER and len(lines) == SAMPLE_ROWS + 1
    assert "美团,美团外卖|美团优选,,,是,是,3000.00,0,否," in lines
    assert "老街饭店,,乌镇镇,乌镇镇石佛南路18号,否,否,,0,否,0573-88710018" in lines
    with registry.session() as session:
        report = import_merchants(session, io.StringIO(text))
    assert report == ImportReport(inserted=0, updated=0, unchanged=SAMPLE_ROWS, errors=[])
    # and the export of the re-imported registry is the same file
    again = io.StringIO()
    with registry.session() as session:
        export_merchants(session, again)
    assert again.getvalue() == text


def test_export_to_an_empty_database_imports_into_another(registry, databases):
    from bot.core.db import Database

    out = io.StringIO()
    with registry.session() as session:
        export_merchants(session, out)
    other = Database(databases.fresh())
    try:
        with other.session() as session:
            assert import_merchants(session, io.StringIO(out.getvalue())).inserted == SAMPLE_ROWS
        with other.session() as session, registry.session() as original:
            def rows(s):
                return sorted((m.name, m.town_code, m.aliases, m.compensation_cap, m.offline_return_days,
                               m.direct_settlement, m.contact_phone) for m in s.exec(select(Merchant)))
            assert rows(session) == rows(original)
    finally:
        other.dispose()


def test_export_of_an_empty_registry_is_a_header(db):
    out = io.StringIO()
    with db.session() as session:
        assert export_merchants(session, out) == 0
    assert out.getvalue() == HEADER + "\n"
