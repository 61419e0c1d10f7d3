"""Identifiers: 居民身份证号码 (GB 11643), 统一社会信用代码 (GB 32100), mobile numbers,
and the hall's own 单位账号 / 个人账号 with an ISO 7064 MOD 11,10 check digit.

The check digits come from python-stdnum; the other rules are DOMAIN.md's. Validators
take anything and answer True/False; they never raise.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# [0-9], not \d: \d also matches full-width and other Unicode digits.
_RESIDENT_BODY, _MOBILE_BODY = r"[0-9]{17}[0-9X]", r"1[3-9][0-9]{9}"
_RESIDENT_ID = re.compile(f"^{_RESIDENT_BODY}$")
_MOBILE = re.compile(f"^{_MOBILE_BODY}$")
#: A column of them, each followed by a newline (see `_all_match`).
_RESIDENT_IDS = re.compile(f"(?:{_RESIDENT_BODY}\n)*")
_MOBILES = re.compile(f"(?:{_MOBILE_BODY}\n)*")
_DIGITS = re.compile(r"^[0-9]+$")

#: 证件类型 code list. Only 01 carries a checksum.
ID_TYPES = {"01": "身份证", "02": "军官证", "04": "外国人永久居留证", "99": "护照"}


def id_type_name(code: str) -> str:
    """A 证件类型 as people read it (身份证); a code not in the list as it is."""
    return ID_TYPES.get(code, code)

UNIT_ACCOUNT_LENGTH = 10
PERSON_ACCOUNT_LENGTH = 12


def _clean(text: object) -> str | None:
    return text.strip().upper() if isinstance(text, str) else None


def resident_id_birth_date(text: str) -> date | None:
    """The birth date of a well-formed resident ID, or None when it is not a real date.
    An 18-character ID is read directly (an import checks this for every row; stdnum's
    cleaning took most of a 10,000-row registration import's time)."""
    try:
        if len(text) == 18 and text[6:14].isdigit():
            return _birth_date(text[6:14])
        return ric.get_birth_date(text)
    except (ValidationError, ValueError):
        return None


@lru_cache(maxsize=1 << 16)
def _birth_date(digits: str) -> date | None:
    """The date eight digits (YYYYMMDD) spell, or None. A unit's staff share birth dates
    (a 100,000-row file has some 15,000), so each is read once."""
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


_RESIDENT_CHECKS = "10X98765432"


def _resident_check(number: str) -> str:
    """GB 11643's check character of an ID's first 17 digits (ASCII digits only). The
    weight of each digit is 2^k mod 11 (k = 17 for the first, 1 for the 17th), and 13 ≡ 2
    (mod 11): so the weighted sum is, mod 11, twice the 17 digits read in base 13, which
    int() reads at C speed."""
    return _RESIDENT_CHECKS[2 * int(number[:17], 13) % 11]


def _birth_ok(digits: str, today: date | None) -> bool:
    """Eight digits (YYYYMMDD) of a resident ID: a real date, not after `today` (by
    default the clock's), not before 1900."""
    birth = _birth_date(digits)
    return birth is not None and birth <= (today or date.today()) and birth.year >= 1900


def is_valid_resident_id(text: object, today: date | None = None) -> bool:
    """17 digits + check character, a real birth date not in the future (`today`, by
    default the clock's) nor before 1900, GB 11643 checksum."""
    number = _clean(text)
    if number is None or not _RESIDENT_ID.match(number) or not _birth_ok(number[6:14], today):
        return False
    return _resident_check(number) == number[-1]


def all_valid_resident_ids(numbers: list[str], today: date | None = None) -> bool:
    """Whether `is_valid_resident_id` holds for every one of these cleaned numbers
    (stripped, upper-case, as a file's column is read): a file's column at once, each
    distinct birth date read once."""
    today = today or date.today()
    return (_all_match(_RESIDENT_IDS, 18, numbers)
            and all(_birth_ok(digits, today) for digits in {n[6:14] for n in numbers})
            and all(_resident_check(n) == n[17] for n in numbers))


def all_valid_mobiles(texts: list[str]) -> bool:
    """Whether `is_valid_mobile` holds for every one of these stripped texts."""
    return _all_match(_MOBILES, 11, texts)


def _all_match(pattern: re.Pattern, width: int, texts: list[str]) -> bool:
    """Whether every text is `width` characters `pattern` (a repeated body followed by a
    newline) matches: one regex pass over the joined column. The length rules out a text
    holding a newline itself (it would make two bodies out of one text)."""
    joined = "\n".join(texts) + "\n" if texts else ""
    return len(joined) == (width + 1) * len(texts) and pattern.fullmatch(joined) is not None


def is_valid_uscc(text: object) -> bool:
    """18 characters of the GB 32100 alphabet (no I O S V Z) with its mod-31 check character."""
    code = _clean(text)
    if code is None or len(code) != 18 or any(c not in USCC_ALPHABET for c in code):
        return False
    return uscc.calc_check_digit(code) == code[-1]


def is_valid_mobile(text: object) -> bool:
    return isinstance(text, str) and bool(_MOBILE.match(text.strip()))


def is_valid_id_number(id_type: str, number: object) -> bool:
    """证件号码 for its 证件类型: 01 gets the checksum; the others need 5-30 letters/digits."""
    if id_type == "01":
        return is_valid_resident_id(number)
    if id_type not in ID_TYPES or not isinstance(number, str):
        return False
    return bool(re.fullmatch(r"[0-9A-Za-z]{5,30}", number.strip(), re.ASCII))


def mask_id_number(number: str) -> str:
    """An ID number as pickers and lists show it to tell people apart without printing it
    whole: the first 6 and last 4 characters (350102********123X)."""
    if len(number) <= 10:
        return number[:2] + "*" * max(len(number) - 4, 0) + number[-2:]
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def _mod_11_10(digits: str) -> int:
    """ISO 7064 MOD 11,10 over `digits`: 1 when a number with its check digit is valid
    (written out here: the import check runs it for every row of a 50,000-row file)."""
    check = 5
    for digit in digits:
        check = (((check or 10) * 2) % 11 + int(digit)) % 10
    return check


def with_check_digit(body: str) -> str:
    """Append the MOD 11,10 check digit to a string of digits."""
    return body + str((1 - ((_mod_11_10(body) or 10) * 2) % 11) % 10)


def _is_valid_account(text: object, length: int) -> bool:
    if not isinstance(text, str):
        return False
    number = text.strip()
    return len(number) == length and bool(_DIGITS.match(number)) and _mod_11_10(number) == 1


def is_valid_unit_account(text: object) -> bool:
    """单位账号: 10 digits, the last a check digit, so a mistyped number is caught early."""
    return _is_valid_account(text, UNIT_ACCOUNT_LENGTH)


def is_valid_person_account(text: object) -> bool:
    """个人账号: 12 digits, the last a check digit."""
    return _is_valid_account(text, PERSON_ACCOUNT_LENGTH)


def unit_account_number(sequence: int) -> str:
    return with_check_digit(f"1{sequence:0{UNIT_ACCOUNT_LENGTH - 2}d}")


def person_account_number(sequence: int) -> str:
    return with_check_digit(f"2{sequence:0{PERSON_ACCOUNT_LENGTH - 2}d}")
