"""DOMAIN.md › Identifiers: resident ID (GB 11643), USCC (GB 32100), mobile, our accounts."""

from __future__ import annotations

import random
from datetime import date

import pytest

from services.identifiers import (
    USCC_ALPHABET,
    all_valid_mobiles,
    all_valid_resident_ids,
    is_valid_id_number,
    is_valid_mobile,
    is_valid_person_account,
    is_valid_resident_id,
    is_valid_unit_account,
    is_valid_uscc,
    person_account_number,
    unit_account_number,
)

WEIGHTS_ID = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
WEIGHTS_USCC = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def id_check(body: str) -> str:
    """The rule as DOMAIN.md states it, written out independently of the code under test."""
    return "10X98765432"[sum(int(c) * w for c, w in zip(body, WEIGHTS_ID, strict=True)) % 11]


def uscc_check(body: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body, WEIGHTS_USCC, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


class TestResidentId:
    def test_the_worked_example_is_valid(self):
        assert is_valid_resident_id("11010519491231002X")

    def test_a_lowercase_check_x_is_accepted(self):
        assert is_valid_resident_id("11010519491231002x")

    def test_every_wrong_check_character_is_refused(self):
        for wrong in "0123456789":
            assert not is_valid_resident_id("110105194912310020"[:-1] + wrong)

    @pytest.mark.parametrize("birth", ["19490230", "19491301", "19490001", "19491200",
                                       "19000229", "20230229", "19490431"])
    def test_birth_dates_that_do_not_exist_are_refused(self, birth):
        body = f"110105{birth}002"
        assert not is_valid_resident_id(body + id_check(body))

    def test_a_leap_day_in_a_leap_year_is_fine(self):
        body = "11010520000229002"
        assert is_valid_resident_id(body + id_check(body))

    def test_a_birth_date_in_the_future_is_refused(self):
        body = "11010529990101002"
        assert not is_valid_resident_id(body + id_check(body))

    @pytest.mark.parametrize("text", ["", "11010519491231002", "11010519491231002XX",
                                      "1101051949123100AX", "11010519491231002Y",
                                      " 1101051949123 1002X", "１１０１０５１９４９１２３１００２X"])
    def test_malformed_numbers_are_refused(self, text):
        assert not is_valid_resident_id(text)

    @pytest.mark.parametrize("value", [None, 11010519491231002, b"11010519491231002X",
                                       ["11010519491231002X"], 1.5, object()])
    def test_non_text_is_refused_without_raising(self, value):
        assert is_valid_resident_id(value) is False

    def test_random_valid_numbers_agree_with_the_written_rule(self):
        rng = random.Random(7)
        for _ in range(500):
            body = f"{rng.randrange(110000, 659999)}19{rng.randrange(50, 99)}0{rng.randrange(1, 9)}" \
                   f"{rng.randrange(10, 28)}{rng.randrange(0, 999):03d}"
            assert is_valid_resident_id(body + id_check(body))

    def test_every_check_character_agrees_with_the_written_rule(self):
        """The checksum is computed in base 13 (13 ≡ 2 mod 11); each of the eleven check
        characters must come out as the weighted sum says."""
        rng = random.Random(13)
        seen = set()
        while len(seen) < 11:
            body = f"{rng.randrange(110000, 659999)}19{rng.randrange(10, 99)}0{rng.randrange(1, 9)}" \
                   f"{rng.randrange(10, 28)}{rng.randrange(0, 999):03d}"
            seen.add(id_check(body))
            assert is_valid_resident_id(body + id_check(body))
            wrong = "10X98765432".replace(id_check(body), "")[rng.randrange(10)]
            assert not is_valid_resident_id(body + wrong)


class TestColumns:
    """A file's column checked at once says exactly what checking each value says."""

    @pytest.mark.parametrize("odd", [
        None, "11010519491231002", "110105194912310020", "11010520991231002X",
        "1101051949123100AX", "１１０１０５１９４９１２３１００２X",
        "11010519491231002X\n11010119900307663X"])
    def test_resident_ids(self, odd):
        valid = [body + id_check(body) for body in
                 ("11010519491231002", "11010119900307663", "35010219870101001")]
        column = valid + ([odd] if odd is not None else [])
        expected = all(is_valid_resident_id(n, date(2026, 12, 1)) for n in column)
        assert all_valid_resident_ids(column, date(2026, 12, 1)) is expected
        assert expected is (odd is None)

    def test_a_birth_date_after_the_day_given_is_refused(self):
        body = "11010520261202001"
        assert all_valid_resident_ids([body + id_check(body)], date(2026, 12, 2))
        assert not all_valid_resident_ids([body + id_check(body)], date(2026, 12, 1))

    @pytest.mark.parametrize("odd", [None, "1380013800", "12800138000", "13800138000\n13800138001",
                                     "138001380001", "", "１３８００１３８０００"])
    def test_mobiles(self, odd):
        column = ["13800138000", "19912345678"] + ([odd] if odd is not None else [])
        assert all_valid_mobiles(column) is all(map(is_valid_mobile, column)) is (odd is None)

    def test_an_empty_column_has_nothing_wrong(self):
        assert all_valid_resident_ids([]) and all_valid_mobiles([])


class TestUscc:
    def test_the_worked_example_is_valid(self):
        assert is_valid_uscc("91350100M000100Y43")

    def test_the_sum_mod_31_is_zero_case_checks_with_0(self):
        rng = random.Random(3)
        found = 0
        while found < 5:
            body = "9135" + "".join(rng.choice(USCC_ALPHABET) for _ in range(13))
            if sum(USCC_ALPHABET.index(c) * w for c, w in zip(body, WEIGHTS_USCC,
                                                               strict=True)) % 31 == 0:
                found += 1
                assert is_valid_uscc(body + "0")
                assert not is_valid_uscc(body + "Y")

    @pytest.mark.parametrize("letter", "IOSVZ")
    def test_letters_outside_the_alphabet_are_refused(self, letter):
        body = "91350100M00010" + letter + "Y4"
        assert not is_valid_uscc(body + "3")

    def test_a_changed_character_is_caught(self):
        code = "91350100M000100Y43"
        for position in range(17):
            for char in USCC_ALPHABET:
                if char != code[position]:
                    changed = code[:position] + char + code[position + 1:]
                    assert not is_valid_uscc(changed), changed

    def test_random_codes_agree_with_the_written_rule(self):
        rng = random.Random(11)
        for _ in range(500):
            body = "".join(rng.choice(USCC_ALPHABET) for _ in range(17))
            assert is_valid_uscc(body + uscc_check(body))

    @pytest.mark.parametrize("value", [None, "", "91350100M000100Y4", "91350100M000100Y433",
                                       91350100, b"91350100M000100Y43", {"a": 1}])
    def test_bad_input_is_refused_without_raising(self, value):
        assert is_valid_uscc(value) is False


@pytest.mark.parametrize("text,ok", [("13800138000", True), ("19912345678", True),
                                     ("12800138000", False), ("1380013800", False),
                                     ("138001380000", False), ("+8613800138000", False),
                                     (None, False), (13800138000, False)])
def test_mobile_numbers(text, ok):
    assert is_valid_mobile(text) is ok


def test_only_resident_ids_carry_a_checksum():
    assert is_valid_id_number("01", "11010519491231002X")
    assert not is_valid_id_number("01", "110105194912310021")
    assert is_valid_id_number("99", "E12345678")
    assert not is_valid_id_number("03", "E12345678")


class TestOwnAccounts:
    def test_issued_numbers_validate(self):
        for n in range(1, 300):
            assert is_valid_unit_account(unit_account_number(n))
            assert is_valid_person_account(person_account_number(n))

    def test_a_single_mistyped_digit_is_caught(self):
        number = person_account_number(12345)
        for position in range(len(number)):
            for digit in "0123456789":
                if digit != number[position]:
                    assert not is_valid_person_account(
                        number[:position] + digit + number[position + 1:])

    def test_swapped_neighbours_are_caught(self):
        number = unit_account_number(4711)
        for i in range(len(number) - 1):
            if number[i] != number[i + 1]:
                swapped = number[:i] + number[i + 1] + number[i] + number[i + 2:]
                assert not is_valid_unit_account(swapped)

    def test_lengths_are_fixed(self):
        assert len(unit_account_number(1)) == 10
        assert len(person_account_number(1)) == 12
        assert not is_valid_unit_account(person_account_number(1))
        assert not is_valid_person_account(None)
