"""The marks that make a paper checkable, drawn as vector graphics: the centre's round
seal (中心电子章) and the QR code of the verify page.

The seal is drawn from the centre's name each time, never read from an image file that
someone could swap. The QR matrix comes from segno (a maintained, pure-Python encoder
with no image dependency); its dark modules are filled as one path, so no hairline seams
appear between modules in any viewer and the page stays small.
"""

from __future__ import annotations

import math

import segno
from fpdf import FPDF
from fpdf.drawing import PaintedPath

SEAL_RED = (210, 22, 32)
SEAL_CAPTION = "业务专用章"


def qr_matrix(text: str) -> list[list[bool]]:
    """The QR code's modules (True = dark), without the quiet zone."""
    code = segno.make(text, error="m", micro=False)
    return [[bool(module) for module in row] for row in code.matrix]


def qr_path(x: float, y: float, size: float, matrix: list[list[bool]]) -> PaintedPath:
    """The QR code in a square of `size` mm whose border is its quiet zone. Built once
    per document and drawn on every page (`FPDF.draw_path(path, copy=False)`); a run of
    dark modules repeated in the rows below is one rectangle."""
    quiet = 2
    module = size / (len(matrix) + 2 * quiet)
    path = PaintedPath()
    path.style.fill_color = "#000000"
    path.style.stroke_color = None

    def add(run: tuple[int, int], top: int, bottom: int) -> None:
        path.rectangle(x + (run[0] + quiet) * module, y + (top + quiet) * module,
                       (run[1] - run[0]) * module, (bottom - top) * module)

    open_runs: dict[tuple[int, int], int] = {}  # run → the row it started in
    for r, row in enumerate([*matrix, []]):
        runs = set(_runs(row))
        for run in [run for run in open_runs if run not in runs]:
            add(run, open_runs.pop(run), r)
        for run in runs - open_runs.keys():
            open_runs[run] = r
    return path


def _runs(row: list[bool]) -> list[tuple[int, int]]:
    """The dark runs of a row as (first, past-last) module columns."""
    runs, start = [], None
    for c, dark in enumerate([*row, False]):
        if dark and start is None:
            start = c
        elif not dark and start is not None:
            runs.append((start, c))
            start = None
    return runs


def draw_seal(pdf: FPDF, cx: float, cy: float, radius: float, name: str,
              caption: str = SEAL_CAPTION) -> None:
    """A red round seal centred at (cx, cy): a double ring, a five-pointed star, the
    centre's name along the upper arc and the caption across the lower half. Slightly
    translucent, so the date it is stamped over stays legible."""
    with pdf.local_context(draw_color=SEAL_RED, fill_color=SEAL_RED, text_color=SEAL_RED,
                           fill_opacity=0.88, stroke_opacity=0.88):
        pdf.set_line_width(radius * 0.055)
        pdf.circle(cx, cy, radius, style="D")
        pdf.set_line_width(radius * 0.012)
        pdf.circle(cx, cy, radius * 0.93, style="D")
        star = radius * 0.3
        pdf.star(cx, cy, star * 0.382, star, 5, rotate_degrees=180, style="F")
        _arc_text(pdf, cx, cy, radius, name)
        size = radius * 0.17 / 0.3528  # mm → pt
        pdf.set_font(size=size)
        width = pdf.get_string_width(caption)
        pdf.text(cx - width / 2, cy + radius * 0.62, caption)


def _arc_text(pdf: FPDF, cx: float, cy: float, radius: float, text: str) -> None:
    """Each character upright towards the rim, spread evenly over the upper arc."""
    count = max(len(text), 1)
    span = min(240.0, 22.0 * count + 20)  # degrees of arc the name covers
    size_mm = min(radius * 0.24, 2 * math.pi * radius * 0.72 * span / 360 / count * 0.92)
    pdf.set_font(size=size_mm / 0.3528)
    rim = radius * 0.86 - size_mm / 2
    step = span / count
    for index, char in enumerate(text):
        angle = -span / 2 + step * (index + 0.5)  # clockwise from 12 o'clock
        theta = math.radians(angle)
        x = cx + rim * math.sin(theta)
        y = cy - rim * math.cos(theta)
        width = pdf.get_string_width(char)
        with pdf.rotation(-angle, x, y):
            pdf.text(x - width / 2, y + size_mm * 0.36, char)
