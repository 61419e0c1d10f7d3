"""The centre's seal (业务专用章) of a printed document: on the last page only, over the
date, and drawn as vectors, so the PDF holds no raster image at all."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

from PIL import Image

from services.documents.marks import SEAL_CAPTION, SEAL_RED
from tests.pdf import page_texts

from .test_login import login

ACCOUNTS = "/documents/person_accounts/me.pdf"
DPI = 50


def words(pdf: bytes, page: int) -> list[tuple[str, tuple[float, float, float, float]]]:
    """The page's words with their boxes in points (pdftotext -bbox)."""
    out = subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), "-", "-"],
                         input=pdf, capture_output=True, check=True).stdout.decode()
    return [(text, (float(x0), float(y0), float(x1), float(y1))) for x0, y0, x1, y1, text in
            re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
                       r'yMax="([\d.]+)">([^<]*)</word>', out)]


def red_box(pdf: bytes, page: int) -> tuple[float, float, float, float] | None:
    """The box, in points, of the page's seal-red pixels when rendered; None if none."""
    with tempfile.TemporaryDirectory() as folder:
        stem = Path(folder) / "page"
        subprocess.run(["pdftoppm", "-r", str(DPI), "-f", str(page), "-l", str(page), "-png",
                        "-singlefile", "-", str(stem)], input=pdf, check=True)
        image = Image.open(f"{stem}.png").convert("RGB")
    red = [(x, y) for y in range(image.height) for x in range(image.width)
           if _seal_red(image.getpixel((x, y)))]
    if not red:
        return None
    scale = 72 / DPI
    xs, ys = [x for x, _ in red], [y for _, y in red]
    return min(xs) * scale, min(ys) * scale, (max(xs) + 1) * scale, (max(ys) + 1) * scale


def _seal_red(pixel: tuple[int, int, int]) -> bool:
    r, g, b = pixel
    return abs(r - SEAL_RED[0]) < 40 and g < 110 and b < 110 and r - g > 80


def test_the_seal_is_on_the_last_page_over_the_date_and_is_vector(app, demo):
    client = app.test_client()
    login(client, demo)
    pdf = client.get(ACCOUNTS).data
    pages = page_texts(pdf)
    assert len(pages) >= 5
    assert [SEAL_CAPTION in page for page in pages] == [False] * (len(pages) - 1) + [True]

    last = len(pages)
    for page in range(1, last):
        assert red_box(pdf, page) is None, f"red on page {page}"
    seal = red_box(pdf, last)
    assert seal is not None
    width, height = seal[2] - seal[0], seal[3] - seal[1]
    assert 95 < width < 120 and 95 < height < 120  # a round seal of 38 mm (107.7 pt)

    boxes = dict(words(pdf, last))
    date = next(box for text, box in boxes.items() if text.startswith("打印日期："))
    caption = boxes[SEAL_CAPTION]
    for box in (date, caption):  # the date and the seal's caption lie within the seal
        middle = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        assert seal[0] < middle[0] < seal[2] and seal[1] < middle[1] < seal[3]

    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(pdf)
        file.flush()
        listed = subprocess.run(["pdfimages", "-list", file.name], capture_output=True,
                                check=True, text=True).stdout.splitlines()
    assert listed[0].split()[:3] == ["page", "num", "type"] and listed[2:] == []  # no image
    # …nor any image or form object at all (/ImageB etc. of /ProcSet name abilities only)
    assert not re.search(rb"/Subtype\s*/Image", pdf) and b"/XObject" not in pdf
