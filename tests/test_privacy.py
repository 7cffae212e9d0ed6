"""Pseudonymity: identifying patterns in free texts and participant ids, withheld texts."""
import pandas as pd
import pytest

from alliance_pipeline.common.privacy import (
    WITHHELD,
    identifying_kinds,
    participant_id_problem,
    scan_texts,
    withhold_identifying,
)

PATTERN = "^[A-Za-z][A-Za-z0-9_-]{0,31}$"


@pytest.mark.parametrize("text", [
    "write to taro.yamada@example.ac.jp please",
    "mail: hanako+study@u-tokyo.ac.jp.",
    "連絡先はtaro@example.jpです",                       # no spaces around it in Japanese text
    "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ",                        # full-width letters and ＠
])
def test_e_mail_addresses_are_found(text):
    assert identifying_kinds(text) == ["email"]


@pytest.mark.parametrize("text", [
    "call me on 090-1234-5678",
    "03-1234-5678",
    "(03) 1234-5678",
    "0120-123-456",
    "+81 90 1234 5678",
    "+81-3-1234-5678.",                                   # followed by a full stop
    "09012345678",                                        # mobile without separators
    "電話は090-1234-5678まで",                            # directly inside Japanese text
    "０９０－１２３４－５６７８",                           # full-width digits and hyphen
    "０９０ー１２３４ー５６７８に電話してください",           # katakana long vowel mark as dash
    "０３（１２３４）５６７８",                             # full-width brackets
])
def test_japanese_and_international_phone_numbers_are_found(text):
    assert identifying_kinds(text) == ["phone"]


@pytest.mark.parametrize("text", [
    "On 2024-04-01 at 10:30 I met her.",
    "2024/04/01",
    "令和6年4月1日",
    "I saw 12 clients in 2023 and 2024.",
    "The fee was 1,000,000 yen.",
    "score 100000000",                                   # a plain number, not a phone
    "pi is 3.14159265358",
    "version 1.2.3.4",
    "〒113-0033",                                        # postal code: 7 digits
    "session 3 of 12, 45 minutes",
    "",
])
def test_dates_and_ordinary_numbers_are_not_flagged(text):
    assert identifying_kinds(text) == []


def test_both_kinds_in_one_text():
    assert identifying_kinds("taro@example.jp or 090-1234-5678") == ["email", "phone"]


@pytest.mark.parametrize("value, start", [
    ("taro@example.jp", "looks like an e-mail address"),
    ("taro@lab", "looks like an e-mail address"),
    ("090-1234-5678", "looks like a phone number"),
    ("09012345678", "looks like a phone number"),
    ("０９０－１２３４－５６７８", "looks like a phone number"),
    ("20231234", "looks like a student or staff number (digits only)"),
    ("201912345", "looks like a student or staff number (digits only)"),
    ("P 01", f"does not match the pseudonym pattern {PATTERN}"),
    ("山田", f"does not match the pseudonym pattern {PATTERN}"),
    ("x" * 40, f"does not match the pseudonym pattern {PATTERN}"),
])
def test_participant_ids_that_are_not_pseudonyms(value, start):
    assert participant_id_problem(value, PATTERN).startswith(start)


@pytest.mark.parametrize("value", ["P01", "S-014", "p_3", "T1x"])
def test_pseudonyms_pass(value):
    assert participant_id_problem(value, PATTERN) is None


def test_a_pattern_that_allows_digits_is_respected():
    assert participant_id_problem("017", r"^\d{3}$") is None
    assert participant_id_problem("09012345678", r"^\d+$") == (
        "looks like a phone number; replace it with a pseudonym such as P01")


def test_scan_texts_joins_the_kinds_per_response():
    responses = pd.DataFrame({"text": ["fine", "taro@example.jp", "a@b.jp 03-1234-5678"]})
    assert scan_texts(responses).tolist() == ["", "email", "email;phone"]


def test_withhold_identifying_replaces_only_flagged_texts():
    frame = pd.DataFrame({"response_id": ["R1", "R2", "R3"],
                          "text": ["fine", "mail taro@example.jp", "a@b.jp 03-1234-5678"],
                          "identifying": ["", "email", "email;phone"]})
    out = withhold_identifying(frame, allow=False)
    assert out["text"].tolist() == [
        "fine",
        "[text withheld: contains email; set privacy.allow_identifying_text to show it]",
        "[text withheld: contains email and phone; set privacy.allow_identifying_text to show it]"]
    assert out.loc[2, "text"] == WITHHELD.format(kinds="email and phone")
    assert frame["text"].tolist()[1] == "mail taro@example.jp"  # the input is not changed
    assert withhold_identifying(frame, allow=True)["text"].tolist() == frame["text"].tolist()


def test_withhold_identifying_without_the_flag_column_is_a_no_op():
    frame = pd.DataFrame({"text": ["taro@example.jp"]})
    assert withhold_identifying(frame, allow=False)["text"].tolist() == ["taro@example.jp"]
