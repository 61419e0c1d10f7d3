"""The CJK font of printed documents: WenQuanYi Micro Hei from Debian's fonts-wqy-microhei,
and for the rare characters (生僻字) of names it lacks, HanaMin A and B from fonts-hanazono
(CJK Extension A, B and beyond): a name is printed whole or not at all.

Handing fpdf2 the 5 MB collection costs about 160 ms per document (it parses 49,531
glyphs) and as much again to subset it on output. A document is data, so every character
it will print is known before drawing: the face is read once per process, and each
document gets a small TrueType font of just its glyphs (a few ms), which fpdf2 embeds and
subsets as usual. The face's tables are only read, so threads may share it.
"""

from __future__ import annotations

import io
import struct
import threading
from collections.abc import Iterable
from pathlib import Path

from fontTools.ttLib import TTFont, newTable
from fontTools.ttLib.tables._c_m_a_p import CmapSubtable
from fontTools.ttLib.tables._g_l_y_f import Glyph

from ..errors import BusinessRuleViolation

FONT_FILE = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
FACE_NUMBER = 0  # Micro Hei; 1 is its monospaced twin
#: Asked in order for the characters Micro Hei lacks.
FALLBACK_FILES = (Path("/usr/share/fonts/truetype/hanazono/HanaMinA.ttf"),
                  Path("/usr/share/fonts/truetype/hanazono/HanaMinB.ttf"))
#: Tables copied as they are: metrics headers, names, and the hinting programs the
#: glyphs' instructions call.
COPIED = ("head", "hhea", "OS/2", "name", "maxp", "fpgm", "prep", "cvt ", "gasp")
#: Printable ASCII is always there, whatever the text, for numbers and codes.
ALWAYS = "".join(chr(c) for c in range(32, 127))


class MissingFont(RuntimeError):
    pass


class FontFace:
    """One face of a TrueType collection, parsed once, raw glyph data by glyph id."""

    def __init__(self, path: Path = FONT_FILE, number: int = FACE_NUMBER,
                 package: str = "fonts-wqy-microhei"):
        if not path.exists():
            raise MissingFont(f"缺少中文字体 {path}（Debian 软件包 {package}），请先运行 make setup")
        font = TTFont(path, fontNumber=number, lazy=True)
        self.order = font.getGlyphOrder()
        self.ids = {name: index for index, name in enumerate(self.order)}
        self.cmap = font.getBestCmap()
        self.metrics = dict(font["hmtx"].metrics)
        self.loca = list(font["loca"])
        self.glyf = font.reader["glyf"]
        self.tables = {tag: font.reader[tag] for tag in COPIED if tag in font.reader}
        font.close()

    def raw_glyph(self, name: str) -> bytes:
        index = self.ids[name]
        return self.glyf[self.loca[index]:self.loca[index + 1]]

    def subset(self, text: Iterable[str]) -> bytes:
        """A TrueType font holding the glyphs of `text` (and printable ASCII)."""
        chars = {ord(c) for chunk in text for c in chunk} | {ord(c) for c in ALWAYS}
        mapping = {code: self.cmap[code] for code in sorted(chars) if code in self.cmap}
        glyphs = self._glyphs(set(mapping.values()))
        names = [".notdef", *sorted(set(glyphs) - {".notdef"}, key=self.ids.__getitem__)]
        font = TTFont(recalcBBoxes=False, recalcTimestamp=False)
        font.setGlyphOrder(names)
        for tag, data in self.tables.items():
            table = newTable(tag)
            table.decompile(data, font)
            font[tag] = table
        glyf = newTable("glyf")
        glyf.glyphOrder, glyf.glyphs = names, glyphs
        font["glyf"] = glyf
        font["loca"] = newTable("loca")
        hmtx = newTable("hmtx")
        hmtx.metrics = {name: self.metrics[name] for name in names}
        font["hmtx"] = hmtx
        font["cmap"] = _cmap(mapping)
        font["post"] = _post()
        out = io.BytesIO()
        font.save(out)
        return out.getvalue()

    def _glyphs(self, wanted: set[str]) -> dict[str, Glyph]:
        """Fresh glyph objects for `wanted` and, for composite glyphs, their components
        (by name, so they compile with the subset's glyph ids)."""
        result: dict[str, Glyph] = {}
        pending = list(wanted | {".notdef"})
        while pending:
            name = pending.pop()
            if name in result:
                continue
            data = self.raw_glyph(name)
            glyph = Glyph(data)
            if len(data) >= 2 and struct.unpack(">h", data[:2])[0] < 0:
                glyph.expand(_Names(self.order))
                pending.extend(c.glyphName for c in glyph.components)
            result[name] = glyph
        return result


class _Names:
    """What fontTools asks of a glyf table to read a composite glyph's components."""

    extended = False

    def __init__(self, order: list[str]):
        self.order = order

    def getGlyphName(self, glyph_id: int) -> str:  # the name fontTools calls
        return self.order[glyph_id]


def _cmap(mapping: dict[int, str]):
    table = newTable("cmap")
    table.tableVersion = 0
    bmp = CmapSubtable.newSubtable(4)
    bmp.platformID, bmp.platEncID, bmp.language = 3, 1, 0
    bmp.cmap = {code: name for code, name in mapping.items() if code <= 0xFFFF}
    table.tables = [bmp]
    if len(bmp.cmap) < len(mapping):
        full = CmapSubtable.newSubtable(12)
        full.platformID, full.platEncID, full.language = 3, 10, 0
        full.cmap = dict(mapping)
        table.tables.append(full)
    return table


def _post():
    """Format 3: no glyph names are stored (the PDF needs none)."""
    table = newTable("post")
    table.formatType = 3.0
    table.italicAngle = 0
    table.underlinePosition, table.underlineThickness = -150, 100
    table.isFixedPitch = 0
    table.minMemType42 = table.maxMemType42 = table.minMemType1 = table.maxMemType1 = 0
    return table


_face: FontFace | None = None
_fallbacks: list[FontFace] | None = None
_lock = threading.Lock()


def face() -> FontFace:
    """The process's face, read on first use (about 0.1 s)."""
    global _face
    with _lock:
        if _face is None:
            _face = FontFace()
        return _face


def fallback_faces() -> list[FontFace]:
    """The faces asked for what the main one lacks, read on first need (about 0.3 s)."""
    global _fallbacks
    with _lock:
        if _fallbacks is None:
            _fallbacks = [FontFace(path, -1, "fonts-hanazono") for path in FALLBACK_FILES]
        return _fallbacks


class Unprintable(BusinessRuleViolation):
    """A character no face has: refused rather than printed as a gap in a sealed paper."""


def subsets(text: Iterable[str]) -> list[tuple[bytes, frozenset[str]]]:
    """The fonts a document needs, each with the characters it draws: the main face's
    subset first, then a fallback face's for the characters the main one lacks (none,
    for almost every document)."""
    chars = {c for chunk in text for c in chunk} | set(ALWAYS)
    main = face()
    missing = {c for c in chars if c.isprintable() and ord(c) not in main.cmap}
    fonts = [(main.subset(chars - missing), frozenset(chars - missing))]
    for fallback in fallback_faces() if missing else ():
        if found := {c for c in missing if ord(c) in fallback.cmap}:
            fonts.append((fallback.subset(found), frozenset(found)))
            missing -= found
    if missing:
        raise Unprintable("打印内容中有本系统字体无法显示的字：" + "、".join(
            f"{c}（U+{ord(c):04X}）" for c in sorted(missing)) + "，请联系公积金中心处理")
    return fonts
