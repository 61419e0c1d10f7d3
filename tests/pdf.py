"""Reading printed PDFs back as a person would: poppler's pdftotext and pdffonts, and the
QR code decoded from the rendered page by zbar."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path


def pdf_text(pdf: bytes, layout: bool = True) -> str:
    args = ["pdftotext", *(["-layout"] if layout else []), "-", "-"]
    return subprocess.run(args, input=pdf, capture_output=True, check=True).stdout.decode()


def raw_text(pdf: bytes) -> str:
    """The text in the order it was drawn (pdftotext -raw): a table cell that wraps onto
    a second line stays within its row, unlike the -layout reading."""
    return subprocess.run(["pdftotext", "-raw", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()


def page_texts(pdf: bytes) -> list[str]:
    """The text of each page, in order (pdftotext separates pages with a form feed)."""
    return pdf_text(pdf).split("\f")[:-1]


def pdf_fonts(pdf: bytes) -> list[dict]:
    """pdffonts' table as dicts: name, type, emb, sub, uni."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(pdf)
        file.flush()
        out = subprocess.run(["pdffonts", file.name], capture_output=True, check=True,
                             text=True).stdout
    fonts = []
    for line in out.splitlines()[2:]:
        match = re.match(r"(\S+)\s+(.+?)\s+(\S+)\s+(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+$",
                         line)
        assert match, line
        name, kind, _, emb, sub, uni = match.groups()
        fonts.append({"name": name, "type": kind, "emb": emb, "sub": sub, "uni": uni})
    return fonts


def qr_codes(pdf: bytes, page: int = 1) -> list[str]:
    """What the QR codes on a page say, read from the page rendered at 150 dpi."""
    with tempfile.TemporaryDirectory() as folder:
        stem = Path(folder) / "page"
        subprocess.run(["pdftoppm", "-r", "150", "-f", str(page), "-l", str(page), "-png",
                        "-singlefile", "-", str(stem)], input=pdf, check=True)
        out = subprocess.run(["zbarimg", "--quiet", "--raw", f"{stem}.png"],
                             capture_output=True, text=True)
    return out.stdout.split()


def check_code(text: str) -> str:
    """The check code as the page footer prints it (XXXX-XXXX-XXXX-XXXX), without dashes."""
    return re.search(r"校验码：\s*([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})", text).group(1).replace("-", "")
