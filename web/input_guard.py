"""Input a request may not carry, refused where it enters (before any view runs) with a
clear 400: NUL bytes or lone surrogates in the path, query, form or JSON strings (the
databases refuse or mangle them), JSON nested deeper than any form needs (Python's
parser would recurse until it crashes), integers longer than any amount (Python refuses
to convert ones over 4,300 digits), and NaN/Infinity.

A body that passes is plain JSON any parser reads the same, so flask-smorest's own
parsing of it afterwards cannot fail in ways these checks have not ruled out."""

from __future__ import annotations

import json

from flask import Flask, request

from services.errors import HallError

MAX_DEPTH = 20
MAX_INT_DIGITS = 30


class BadInput(HallError):
    status = 400
    code = "bad_input"


def _refuse(where: str, why: str) -> BadInput:
    return BadInput(f"请求无效：{why}", {where: [why]})


class _Unsupported(ValueError):
    """A JSON number the hall never takes (the message says which)."""


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Unsupported(f"数字过长（上限 {MAX_INT_DIGITS} 位）")
    return int(text)


def _constant(name: str):
    raise _Unsupported(f"不支持的数值 {name}")


def parse_json(body: bytes):
    """`body` parsed, or BadInput saying why not."""
    try:
        text = body.decode("utf-8")
        value = json.loads(text, parse_int=_int, parse_constant=_constant)
    except UnicodeDecodeError:
        raise _refuse("_body", "请求体须为 UTF-8 编码的 JSON") from None
    except RecursionError:
        raise _refuse("_body", f"JSON 嵌套过深（上限 {MAX_DEPTH} 层）") from None
    except _Unsupported as exc:
        raise _refuse("_body", str(exc)) from None
    except ValueError:
        raise _refuse("_body", "请求体不是有效的 JSON") from None
    _check_value(value)
    return value


def _check_value(value) -> None:
    """Depth and text of a parsed JSON value, walked without recursion."""
    stack = [(value, 1, "")]
    while stack:
        item, depth, path = stack.pop()
        if depth > MAX_DEPTH:
            raise _refuse(path or "_body", f"JSON 嵌套过深（上限 {MAX_DEPTH} 层）")
        if isinstance(item, dict):
            for key, inner in item.items():
                _check_text(key, path or "_body")
                stack.append((inner, depth + 1, f"{path}.{key}" if path else key))
        elif isinstance(item, list):
            stack.extend((inner, depth + 1, f"{path}.{i}" if path else str(i))
                         for i, inner in enumerate(item))
        elif isinstance(item, str):
            _check_text(item, path or "_body")


def _check_text(text: str | None, where: str) -> None:
    if text is None:  # a multipart part without a name: werkzeug keys it None
        return
    if "\x00" in text:
        raise _refuse(where, "不能含有 NUL 字符（\\u0000）")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _refuse(where, "含有无效的 Unicode 字符（单独的代理项）") from None


def _guard() -> None:
    _check_text(request.path, "path")
    for source, values in (("query", request.args), ("form", request.form)):
        for key, value in values.items(multi=True):
            _check_text(key, source)
            _check_text(value, key)  # named as validation names it: by the field
    if request.is_json and request.content_length:
        parse_json(request.get_data(cache=True))


def init_app(app: Flask) -> None:
    app.before_request(_guard)
