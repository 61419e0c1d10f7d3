"""Drawing a `Document` on A4 with fpdf2.

Every page: the QR code of the verify page (top right), the check code and “第 x 页 共 y
页” (footer); pages after the first repeat the title and the table's header. The last
page closes with the rows' digest, the centre's name and the date with the seal over it.
The same document renders to the same bytes: the PDF's dates are the document's date and
nothing random is written.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path

from fpdf import FPDF

from ..clock import CST
from ..jobs import report_progress
from . import fonts
from .marks import SEAL_CAPTION, draw_seal, qr_matrix, qr_path
from .model import Document, Item, Layout, canonical, cells, item_text, rows_digest

MARGIN = 12.0
FOOTER = 14.0  # mm kept free at the bottom of every page
QR_SIZE = 21.0
PT = 0.3528  # mm per point
INK, GREY, RULE = (25, 25, 25), (95, 95, 95), (150, 150, 150)
HEAD_FILL = (230, 237, 245)
PAD = 1.2
ALIAS = "{nb}"
CONTINUED, TOTALS, EMPTY, SCAN = "（续）", "合计", "无记录", "扫码查验"
FIXED = (CONTINUED, TOTALS, EMPTY, SCAN, SEAL_CAPTION, "单位名称单位账号校验码第页共年月日：，。、"
         "明细行摘要本文件由网上业务大厅出具扫描二维码或访问可查验真伪与内容")


@dataclass(frozen=True)
class Stamp:
    """What makes a paper checkable: its code, where to check it, who seals it."""

    code: str
    verify_url: str
    centre_name: str

    @property
    def grouped(self) -> str:
        return "-".join(self.code[i:i + 4] for i in range(0, len(self.code), 4))


#: A print running as a job reports its progress every this many table rows.
PROGRESS_ROWS = 500


def render(layout: Layout, document: Document, stamp: Stamp) -> bytes:
    """The PDF of `document` as `layout` places it."""
    table = cells(layout, document)
    digest = rows_digest(table)
    with tempfile.TemporaryDirectory(prefix="hpf-font-") as folder:
        faces = []
        for index, (data, chars) in enumerate(fonts.subsets(_texts(layout, document, table,
                                                                     stamp))):
            path = Path(folder) / f"cjk{index}.ttf"
            path.write_bytes(data)
            faces.append((path, chars))
        pdf = _Pdf(layout, document, stamp, faces)
        pdf.draw(table, digest)
        return bytes(pdf.output())


def digest_of(layout: Layout, document: Document) -> tuple[str, bytes]:
    """The rows' digest and the canonical text the check code is computed from."""
    digest = rows_digest(cells(layout, document))
    return digest, canonical(layout, document, digest)


def short_digest(digest: str) -> str:
    """The digest as paper and verify page show it: 16 hex digits in groups of four."""
    return " ".join(digest[i:i + 4] for i in range(0, 16, 4))


def chinese_date(value) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def _texts(layout: Layout, document: Document, table: list[list[str]], stamp: Stamp
           ) -> Iterator[str]:
    """Every string the document can print, for its font."""
    yield from FIXED
    yield from (layout.title, layout.date_label, layout.note, stamp.centre_name,
                stamp.verify_url, document.unit_name, document.unit_account)
    for item in (*layout.fields, *layout.totals):
        yield item.label + item.suffix
    yield from (item_text(f, document.fields) for f in layout.fields)
    yield from (item_text(t, document.totals) for t in layout.totals)
    yield from (column.label for column in layout.columns)
    for row in table:
        yield from row


class _Pdf(FPDF):
    def __init__(self, layout: Layout, document: Document, stamp: Stamp,
                 faces: list[tuple[Path, frozenset[str]]]):
        super().__init__(orientation="L" if layout.landscape else "P", unit="mm", format="A4")
        self.layout, self.document, self.stamp = layout, document, stamp
        self.in_table = False
        self.segment_top = 0.0
        self.widths: dict[tuple[str, float], float] = {}
        #: The font of each character the main one lacks (a 生僻字 from a fallback face).
        self.rare: dict[str, str] = {}
        for index, (path, chars) in enumerate(faces):
            family = "cjk" if index == 0 else f"cjk{index}"
            self.add_font(family, "", str(path))
            # The subset's glyphs keep their stored bounding boxes: fpdf2 subsets the font
            # once more on output, and recomputing every glyph's box there costs more than
            # drawing.
            self.fonts[family].ttfont.recalcBBoxes = False
            if index:
                self.rare.update(dict.fromkeys(chars, family))
        self.set_font("cjk", size=9)
        self.set_text_color(*INK)
        self.set_fill_color(*INK)  # fpdf2 wraps every text in q…Q while these differ
        self.set_draw_color(*RULE)  # table rules; other lines set their own colour
        self.set_line_width(0.15)
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(False)
        self.alias_nb_pages(ALIAS)
        self.set_creation_date(datetime.combine(document.date, time(), CST))
        self.set_title(layout.title)
        self.set_author(stamp.centre_name)
        self.set_creator("住房公积金单位网上业务大厅")
        self.set_lang("zh-CN")
        self.content = self.w - 2 * MARGIN
        self.qr = qr_path(self.w - MARGIN - QR_SIZE, 8, QR_SIZE, qr_matrix(stamp.verify_url))
        total = sum(c.width for c in layout.columns) or 1
        self.columns = [(c, self.content * c.width / total) for c in layout.columns]

    @property
    def bottom(self) -> float:
        return self.h - FOOTER

    # -- every page --------------------------------------------------------------------
    def header(self) -> None:
        self.draw_path(self.qr, copy=False)
        self._line(self.w - MARGIN - QR_SIZE, 8 + QR_SIZE, QR_SIZE, SCAN, 6.5, "C", GREY)
        if self.page == 1:
            self._bold(self.layout.title, 17, 14)
            self._line(MARGIN, 23, self.content, self.stamp.centre_name, 9.5, "C", GREY)
            self.set_y(34)
            return
        self._line(MARGIN, 10, self.content - QR_SIZE, self.layout.title + CONTINUED, 11)
        self._line(MARGIN, 16, self.content - QR_SIZE,
                   f"单位名称：{self.document.unit_name}    单位账号：{self.document.unit_account}",
                   8.5, color=GREY)
        self.set_y(8 + QR_SIZE + 5)
        if self.in_table:
            self._table_head()

    def footer(self) -> None:
        y = self.h - 10
        with self.local_context(draw_color=RULE, line_width=0.2):
            self.line(MARGIN, y - 2, self.w - MARGIN, y - 2)
        self._line(MARGIN, y, self.content, f"校验码：{self.stamp.grouped}", 8)
        # cell(), not text(): fpdf2 puts the page count in for the alias only there
        self.set_font(size=8)
        self.set_xy(MARGIN, y)
        self.cell(self.content, 8 * PT * 1.5, f"第 {self.page_no()} 页 共 {ALIAS} 页", align="R")

    # -- the body ----------------------------------------------------------------------
    def draw(self, table: list[list[str]], digest: str) -> None:
        self.add_page()
        document = self.document
        units = (Item("unit_name", "单位名称"), Item("unit_account", "单位账号"))
        self._items(units, {"unit_name": document.unit_name,
                            "unit_account": document.unit_account})
        self._items(self.layout.fields, document.fields)
        if self.columns:
            self.set_y(self.get_y() + 2)
            self._table(table)
        if self.layout.totals:
            self._ensure(12)
            self._line(MARGIN, self.get_y() + 2, self.content, TOTALS, 10)
            self.set_y(self.get_y() + 8)
            self._items(self.layout.totals, document.totals)
        if self.layout.note:
            self._paragraph(self.layout.note, 8, GREY)
        self._closing(len(table), digest)

    def _items(self, items: tuple[Item, ...], values) -> None:
        """Labelled values in a grid: two per line (three in landscape); wide ones alone."""
        per_line = 3 if self.layout.landscape else 2
        slot = self.content / per_line
        line_h = 5.2
        queue = [(item.label, item_text(item, values), item.wide) for item in items]
        while queue:
            group = [queue.pop(0)]
            while not group[0][2] and queue and not queue[0][2] and len(group) < per_line:
                group.append(queue.pop(0))
            heights = []
            for index, (label, text, wide) in enumerate(group):
                width = self.content if wide else slot
                heights.append(self._label_value(MARGIN + index * slot, width, label, text,
                                                 line_h, dry=True))
            self._ensure(max(heights))
            y = self.get_y()
            for index, (label, text, wide) in enumerate(group):
                self.set_y(y)
                width = self.content if wide else slot
                self._label_value(MARGIN + index * slot, width, label, text, line_h)
            self.set_y(y + max(heights))

    def _label_value(self, x, width, label, text, line_h, dry=False) -> float:
        self.set_font(size=9)
        label_w = self._width(label + "：") + 1
        lines = self._wrap(text, width - label_w - 3)
        if not dry:
            y = self.get_y()
            self._line(x, y, label_w, label + "：", 9, color=GREY)
            for offset, line in enumerate(lines):
                self._line(x + label_w, y + offset * line_h, width - label_w, line, 9)
        return len(lines) * line_h

    # -- the table ---------------------------------------------------------------------
    def _table(self, table: list[list[str]]) -> None:
        """Rows under a head that every page repeats. Each row draws only its bottom rule;
        the column rules are drawn once per page from the head down (a tenth of the ink
        operators, which keeps a 10,000-row statement small)."""
        self.in_table = True
        self._ensure(self._head_height() + 6)
        self._table_head()
        line_h = 4.2
        if not table:
            self._close_segment()
            self._row([[EMPTY]], [(None, self.content)], line_h, line_h + 1.6, box=True)
        for number, row in enumerate(table, start=1):
            if not number % PROGRESS_ROWS:
                report_progress(number, len(table))  # a print running as a job
            wrapped = [self._wrap(text, width - 2 * PAD) for text, (_, width)
                       in zip(row, self.columns, strict=True)]
            height = max(len(lines) for lines in wrapped) * line_h + 1.6
            if self.get_y() + height > self.bottom:
                self._close_segment()
                self.add_page()  # header() repeats the table's head
            self._row(wrapped, self.columns, line_h, height)
        if table:
            self._close_segment()
        self.in_table = False
        self.set_y(self.get_y() + 2)

    def _head_height(self) -> float:
        self.set_font(size=8)
        lines = max(len(self._wrap(c.label, w - 2 * PAD)) for c, w in self.columns)
        return lines * 4.0 + 2

    def _table_head(self) -> None:
        height = self._head_height()
        y = self.get_y()
        with self.local_context(fill_color=HEAD_FILL):
            self.rect(MARGIN, y, self.content, height, style="F")
        x = MARGIN
        for column, width in self.columns:
            lines = self._wrap(column.label, width - 2 * PAD)
            top = y + (height - len(lines) * 4.0) / 2
            for offset, line in enumerate(lines):
                self._line(x, top + offset * 4.0, width, line, 8, "C", size_h=4.0, bold=True)
            x += width
        self.segment_top = y
        self.line(MARGIN, y, MARGIN + self.content, y)
        self.line(MARGIN, y + height, MARGIN + self.content, y + height)
        self.set_y(y + height)
        self.set_font(size=8)

    def _row(self, wrapped, columns, line_h: float, height: float, box: bool = False) -> None:
        y = self.get_y()
        x = MARGIN
        for lines, (column, width) in zip(wrapped, columns, strict=True):
            align = "R" if column is not None and column.numeric else "L"
            for offset, line in enumerate(lines):
                self._line(x, y + 0.8 + offset * line_h, width, line, 8, align, size_h=line_h)
            x += width
        self.line(MARGIN, y + height, MARGIN + self.content, y + height)
        if box:
            self.line(MARGIN, y, MARGIN, y + height)
            self.line(MARGIN + self.content, y, MARGIN + self.content, y + height)
        self.set_y(y + height)

    def _close_segment(self) -> None:
        """The column rules of this page's part of the table, head to last row."""
        bottom = self.get_y()
        x = MARGIN
        self.line(x, self.segment_top, x, bottom)
        for _, width in self.columns:
            x += width
            self.line(x, self.segment_top, x, bottom)

    # -- the close: digest, issuer, date and seal --------------------------------------
    def _closing(self, count: int, digest: str) -> None:
        self._ensure(50)
        y = self.get_y() + 4
        left = self.content * 0.55
        self.set_y(y)
        if self.layout.columns:  # a slip without a table has no 明细 to count
            self._paragraph(f"明细 {count} 行，明细摘要 {short_digest(digest)}", 8, GREY, left)
        self._paragraph(f"本文件由{self.stamp.centre_name}网上业务大厅出具，扫描二维码或访问 "
                        f"{self.stamp.verify_url} 可查验真伪与内容。", 8, GREY, left)
        right_x = MARGIN + self.content - 62
        self._line(right_x, y + 14, 62, self.stamp.centre_name, 10, "C")
        self._line(right_x, y + 21, 62, f"{self.layout.date_label}："
                   f"{chinese_date(self.document.date)}", 10, "C")
        draw_seal(self, right_x + 31, y + 19, 19, self.stamp.centre_name)

    # -- text primitives ---------------------------------------------------------------
    def _ensure(self, height: float) -> None:
        if self.get_y() + height > self.bottom:
            self.add_page()

    def _paragraph(self, text: str, size: float, color=INK, width: float | None = None) -> None:
        width = width or self.content
        self.set_font(size=size)
        line_h = size * PT * 1.55
        for line in self._wrap(text, width):
            self._ensure(line_h)
            self._line(MARGIN, self.get_y(), width, line, size, color=color, size_h=line_h)
            self.set_y(self.get_y() + line_h)

    def _line(self, x, y, width, text, size, align="L", color=INK, size_h=None, bold=False):
        """One line of text in a box whose top is y (no wrapping)."""
        self.set_font(size=size)
        box = size_h or size * PT * 1.5
        if align == "R":
            tx = x + width - PAD - self._width(text)
        elif align == "C":
            tx = x + (width - self._width(text)) / 2
        else:
            tx = x + (PAD if size_h else 0)
        baseline = y + box / 2 + size * PT * 0.36
        if color == INK and not bold:
            self._text(tx, baseline, text)
            return
        context = {"text_mode": "FILL_STROKE", "line_width": size * 0.012} if bold else {}
        with self.local_context(text_color=color, draw_color=color, **context):
            self._text(tx, baseline, text)

    def _text(self, x: float, baseline: float, text: str) -> None:
        """`text` at x, each run of rare characters in the face that has them."""
        if not self.rare or not any(c in self.rare for c in text):
            self.text(x, baseline, text)
            return
        size = self.font_size_pt
        for family, run in self._runs(text):
            self.set_font(family, size=size)
            self.text(x, baseline, run)
            x += self._width(run)
        self.set_font("cjk", size=size)

    def _runs(self, text: str) -> Iterator[tuple[str, str]]:
        start = 0
        for end in range(1, len(text) + 1):
            if end == len(text) or self.rare.get(text[end], "cjk") != \
                    self.rare.get(text[start], "cjk"):
                yield self.rare.get(text[start], "cjk"), text[start:end]
                start = end

    def _bold(self, text: str, size: float, y: float) -> None:
        self._line(MARGIN + QR_SIZE, y, self.content - 2 * QR_SIZE, text, size, "C", bold=True)

    def _width(self, text: str) -> float:
        size = self.font_size_pt
        family = self.font_family
        total = 0.0
        for char in text:
            key = (char, size)
            if key not in self.widths:
                self.set_font(self.rare.get(char, "cjk"), size=size)
                self.widths[key] = self.get_string_width(char)
                self.set_font(family, size=size)
            total += self.widths[key]
        return total

    def _wrap(self, text: str, width: float) -> list[str]:
        """Lines of at most `width` mm: Chinese breaks between any two characters."""
        lines: list[str] = []
        for paragraph in text.split("\n"):
            if self._width(paragraph) <= width:
                lines.append(paragraph)
                continue
            line, used = "", 0.0
            for char in paragraph:
                char_w = self._width(char)
                if line and used + char_w > width:
                    lines.append(line)
                    line, used = "", 0.0
                line += char
                used += char_w
            lines.append(line)
        return lines or [""]
