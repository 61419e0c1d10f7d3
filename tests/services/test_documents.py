"""The documents component on its own: every layout renders from data and reads back,
tables break across pages with their header repeated, the font is embedded and subset,
the same document gives the same bytes and code, a changed row changes them, the QR code
leads to the verify page, and money prints in Chinese capitals as payment papers need."""

from __future__ import annotations

import io
import logging
import re
from datetime import date, datetime
from decimal import Decimal

import pytest
from fontTools.ttLib import TTFont

from services.documents import LAYOUTS, Document, Stamp, issue, render
from services.documents.fonts import face
from services.documents.model import capital_amount, printed
from services.documents.records import CODE_LENGTH, mask_name, normalize
from services.months import YearMonth
from tests.pdf import check_code, page_texts, pdf_fonts, pdf_text, qr_codes

CENTRE = "示范市住房公积金管理中心"
SAMPLES = {"text": "示范文本", "money": Decimal("12345.6"), "rate": Decimal("0.12"),
           "count": 7, "date": date(2026, 10, 15), "month": YearMonth(2026, 10),
           "time": datetime(2026, 10, 15, 2, 30), "capital": Decimal("12345.60")}


def sample(kind: str, rows: int = 120) -> Document:
    """A document of `kind` with every field, cell and total filled from the layout."""
    layout = LAYOUTS[kind]

    def values(items):
        return {item.key: SAMPLES[item.kind] for item in items}

    table = [{c.key: (f"row{index:03d}" if c.kind == "text" else SAMPLES[c.kind])
              for c in layout.columns} for index in range(rows if layout.columns else 0)]
    return Document(kind=kind, unit_id=1, unit_name="示范市星河信息科技有限公司",
                    unit_account="1000000019", date=date(2026, 11, 29),
                    fields=values(layout.fields), rows=table, totals=values(layout.totals))


def stamp_for(document: Document, secret: str = "s") -> tuple[Stamp, object]:
    issued = issue(document, secret)
    return Stamp(issued.code, f"https://hall.example.cn/verify/{issued.code}", CENTRE), issued


def rendered(document: Document) -> bytes:
    stamp, issued = stamp_for(document)
    return render(issued.layout, document, stamp)


@pytest.mark.parametrize("kind", sorted(LAYOUTS))
def test_every_layout_renders_and_reads_back(kind, caplog):
    document = sample(kind)
    layout = LAYOUTS[kind]
    with caplog.at_level(logging.WARNING):
        pdf = rendered(document)
    assert not [r for r in caplog.records if "missing" in r.getMessage()]  # every glyph there
    pages = page_texts(pdf)
    text = "".join(pages)
    for expected in (layout.title, "示范市星河信息科技有限公司", "1000000019", CENTRE,
                     f"{layout.date_label}：2026年11月29日", "业务专用章"):
        assert expected in text, expected
    for item in (*layout.fields, *layout.totals):
        assert f"{item.label}：" in text, item.label
    if "money" in {i.kind for i in layout.totals}:
        assert "12,345.60 元" in text
    if "capital" in {i.kind for i in layout.totals}:
        assert "壹万贰仟叁佰肆拾伍元陆角整" in text
    code = stamp_for(document)[0].grouped
    for number, page in enumerate(pages, start=1):
        assert f"校验码：{code}" in page
        assert re.search(rf"第\s*{number}\s*页\s*共\s*{len(pages)}\s*页", page), page[-200:]
    if layout.columns:
        assert len(pages) >= 3  # 120 rows do not fit on two pages
        marker = "row"
        with_rows = [page for page in pages if marker in page]
        assert len(with_rows) >= 3
        for page in with_rows:  # the table's head on every page, above its rows
            head = page[:page.index(marker)]
            assert all(c.label[:2] in head for c in layout.columns), head
        assert f"明细 {len(document.rows)} 行" in pages[-1]
        texts = sum(c.kind == "text" for c in layout.columns)
        assert all(text.count(f"row{i:03d}") == texts for i in range(len(document.rows)))


def test_the_cjk_font_is_embedded_as_a_subset():
    fonts = pdf_fonts(rendered(sample("person_accounts", rows=3)))
    assert len(fonts) == 1
    assert fonts[0]["name"].endswith("+WenQuanYiMicroHei")
    assert (fonts[0]["emb"], fonts[0]["sub"], fonts[0]["uni"]) == ("yes", "yes", "yes")


def test_a_small_document_stays_small():
    assert len(rendered(sample("payment_receipt"))) < 40_000


def test_the_same_document_gives_the_same_bytes_and_code():
    first, second = sample("person_accounts", rows=60), sample("person_accounts", rows=60)
    assert rendered(first) == rendered(second)
    assert issue(first, "s").code == issue(second, "s").code


def test_a_changed_cell_or_total_changes_the_digest_and_the_code():
    base = sample("remittance_notice", rows=5)
    issued = issue(base, "s")
    rows = [dict(r) for r in base.rows]
    rows[3]["monthly_amount"] = Decimal("12345.61")
    changed_row = Document(**{**base.__dict__, "rows": rows})
    changed_total = Document(**{**base.__dict__, "totals": {**base.totals, "amount": 1}})
    assert issue(changed_row, "s").digest != issued.digest
    assert issue(changed_row, "s").code != issued.code
    assert issue(changed_total, "s").digest == issued.digest
    assert issue(changed_total, "s").code != issued.code
    assert issue(base, "another secret").code != issued.code  # no secret, no code


def test_the_check_code_and_qr_code_are_on_every_page():
    document = sample("ledger", rows=100)
    pdf = rendered(document)
    stamp, _ = stamp_for(document)
    pages = page_texts(pdf)
    assert len(pages) >= 2
    for number in (1, len(pages)):
        assert qr_codes(pdf, number) == [stamp.verify_url]
    assert check_code(pages[-1]) == stamp.code and len(stamp.code) == CODE_LENGTH


def test_a_table_with_no_rows_says_so():
    document = Document(**{**sample("person_changes").__dict__, "rows": []})
    text = pdf_text(rendered(document))
    assert "无记录" in text and "明细 0 行" in text


def test_long_text_wraps_inside_its_cell_instead_of_being_cut():
    document = sample("person_changes", rows=1)
    long = "福建省示范市鼓楼区五四路一百五十八号环球广场二十一层二一零三室" * 2
    document = Document(**{**document.__dict__, "rows": [{**document.rows[0], "new_value": long}]})
    text = pdf_text(rendered(document), layout=False).replace("\n", "")
    assert long in re.sub(r"\s", "", text)


def test_the_font_subset_holds_only_what_is_printed():
    small = TTFont(io.BytesIO(face().subset(["缴存"])))
    cmap = small.getBestCmap()
    assert set(cmap) == {ord("缴"), ord("存")} | set(range(32, 127))
    assert len(small.getGlyphOrder()) < 200  # of 49,531 in the face


@pytest.mark.parametrize("amount,words", [
    ("0", "零元整"), ("0.05", "伍分"), ("1", "壹元整"), ("10", "壹拾元整"),
    ("100.05", "壹佰元零伍分"), ("1005", "壹仟零伍元整"), ("10005", "壹万零伍元整"),
    ("12345.60", "壹万贰仟叁佰肆拾伍元陆角整"), ("100000000", "壹亿元整"),
    ("100000001", "壹亿零壹元整"), ("2962.96", "贰仟玖佰陆拾贰元玖角陆分"),
    ("110000", "壹拾壹万元整"), ("-3.20", "负叁元贰角整")])
def test_amounts_in_chinese_capitals(amount, words):
    assert capital_amount(Decimal(amount)) == words


def test_printed_values():
    assert printed(Decimal("1234.5"), "money") == "1,234.50"
    assert printed(Decimal("0.125"), "rate") == "12.5%"
    assert printed(Decimal("0.12"), "rate") == "12%"
    assert printed(datetime(2026, 11, 29, 17, 30), "time") == "2026-11-30 01:30"  # Beijing
    assert printed(None, "money") == ""


def test_codes_are_normalised_and_unit_names_masked():
    assert normalize("abcd-efgh-jkmn-pq0o") == "ABCDEFGHJKMNPQ00"
    assert normalize("ABCD EFGH JKMN PQRS") == "ABCDEFGHJKMNPQRS"
    assert normalize("ABCD") is None and normalize("ABCD-EFGH-JKMN-PQR!") is None
    assert normalize("U" * 16) is None  # not in the alphabet
    assert mask_name("示范市星河信息科技有限公司") == "示范市******有限公司"
    assert mask_name("青禾餐饮") == "青**饮"
    assert mask_name("禾") == "禾"
