"""Masking and detection of citizens' personal data (apps.core.personal_data)."""

import pytest
from django.core.exceptions import ValidationError

from apps.core.personal_data import (
    id_number_is_valid,
    mask_address,
    mask_id_number,
    mask_name,
    mask_phone,
    mask_text,
    validate_id_number,
    whole_numbers_in,
)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812345678", "138****5678"),
        ("+86 138-1234-5678", "138****5678"),
        ("0571-87654321", "0571-****4321"),
        ("123", "***"),
        ("", ""),
    ],
)
def test_phone_masking(value, masked):
    assert mask_phone(value) == masked


def test_name_and_id_number_masking():
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_id_number("11010519491231002X") == "110105********002X"


def test_address_is_kept_to_the_street():
    assert mask_address("嘉州市东城区人民路88号3栋201") == "嘉州市东城区人民路***"
    assert mask_address("嘉州市东城区翠苑街道文一路12号") == "嘉州市东城区翠苑街道***"
    assert "88" not in mask_address("东城区88号")


def test_numbers_typed_into_free_text_are_masked_and_the_rest_is_kept():
    text = "电话13812345678，座机0571-87654321，身份证11010519491231002X，单号20261201000123，金额12345678元"
    masked = mask_text(text)
    assert masked == (
        "电话138****5678，座机0571-****4321，身份证110105********002X，单号20261201000123，金额12345678元"
    )
    assert whole_numbers_in(text) == ["11010519491231002X", "13812345678", "0571-87654321"]
    assert whole_numbers_in(masked) == []


def test_a_longer_run_of_digits_is_not_a_phone():
    assert mask_text("编号913812345678") == "编号913812345678"
    assert mask_text("13812345678") == "138****5678"


def test_id_number_check_digit_gb_11643():
    assert id_number_is_valid("11010519491231002X")
    assert id_number_is_valid("11010519491231002x")
    assert not id_number_is_valid("110105194912310021")  # wrong check digit
    assert not id_number_is_valid("01010519491231002X")  # no region code starts with 0
    assert not id_number_is_valid("1101051949123100")
    validate_id_number("")
    with pytest.raises(ValidationError):
        validate_id_number("110105194912310021")


def test_the_quick_check_never_skips_a_number():
    """mask_text skips the three patterns when no run of digits could be a number: the
    result must be what the patterns alone give, for any text of digits, dashes and words."""
    pytest.importorskip("hypothesis")
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from apps.core import personal_data as pd

    def by_the_patterns_alone(text):
        text = pd.ID_NUMBER_RE.sub(pd._mask_match, text)
        text = pd.MOBILE_RE.sub(pd._mask_match, text)
        return pd.LANDLINE_RE.sub(pd._mask_match, text)

    pieces = st.sampled_from(["0", "1", "3", "8", "9", "5", "-", " ", "+86", "X", "号", "电话", "a"])

    @settings(max_examples=400, deadline=None)
    @given(st.lists(pieces, max_size=40).map("".join))
    def check(text):
        assert pd.mask_text(text) == by_the_patterns_alone(text)

    check()
    for text in ["电话13812345678", "138 1234 5678", "0571-87654321", "110105199001011234", "+86 138-1234-5678"]:
        assert pd.mask_text(text) != text
