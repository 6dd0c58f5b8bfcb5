"""Validators and normalisers: each with valid and invalid values."""
import pytest

from models.postocr import ids
from models.postocr.normalize import (normalize, normalize_account, normalize_amount, normalize_brn, normalize_card,
                                      normalize_date, normalize_email, normalize_phone, normalize_rrn,
                                      normalize_time, normalize_url, parse_amount, rrn_birth_date, validate_rrn)


def _rrn(first12: str) -> str:
    return f"{first12[:6]}-{first12[6:]}{ids.rrn_check_digit(first12)}"


def _brn(first9: str) -> str:
    d = first9 + str(ids.brn_check_digit(first9))
    return f"{d[:3]}-{d[3:5]}-{d[5:]}"


def _card(body: str) -> str:
    return body + str(ids.luhn_check_digit(body))


@pytest.mark.parametrize("text, iso", [
    ("2024. 3. 5.", "2024-03-05"), ("05/03/2024", "2024-03-05"), ("2024년 3월 5일", "2024-03-05"),
    ("2024-03-05", "2024-03-05"), ("2024/3/5", "2024-03-05"), ("15.01.2019", "2019-01-15"),
    ("25 DEC 2018", "2018-12-25"), ("Mar 5, 2024", "2024-03-05"), ("29-APR-2018", "2018-04-29"),
    ("12/01/19", "2019-01-12"), ("1991 09 18", "1991-09-18"), ("95.05.08", "1995-05-08"),
])
def test_dates_valid(text, iso):
    assert normalize_date(text) == iso


@pytest.mark.parametrize("text", ["31/02/2024", "2024. 13. 5.", "2023년 2월 30일", "hello", "", "12:30", "Foo 5, 2024"])
def test_dates_invalid(text):
    assert normalize_date(text) is None


def test_date_month_first_option():
    assert normalize_date("05/03/2024", day_first=False) == "2024-05-03"


@pytest.mark.parametrize("text, out", [("11:05:16 AM", "11:05:16"), ("3:20 PM", "15:20"), ("14:30", "14:30"),
                                       ("오후 3:20", "15:20"), ("오전 12:10", "00:10"), ("15시 20분", "15:20")])
def test_times_valid(text, out):
    assert normalize_time(text) == out


@pytest.mark.parametrize("text", ["25:00", "12:60", "13:00 PM", "noon"])
def test_times_invalid(text):
    assert normalize_time(text) is None


@pytest.mark.parametrize("text, out", [("₩12,000", "12000 KRW"), ("12,000원", "12000 KRW"), ("RM 193.00", "193.00 MYR"),
                                       ("$1,234.50", "1234.50 USD"), ("RM9.00", "9.00 MYR"), ("193.00", "193.00"),
                                       ("₩ 5,000원", "5000 KRW"), ("-3.50", "-3.50"), ("₩ 2 510", "2510 KRW"),
                                       ("483.000원", "483000 KRW"), ("₩ 4.560", "4560 KRW"), ("4.560", "4.560"),
                                       ("$1 234.50", "1234.50 USD")])
def test_amounts_valid(text, out):
    assert normalize_amount(text) == out


@pytest.mark.parametrize("text", ["1,23", "12,00,0", "₩12,000 USD", "abc", "RM", "1.2.3", "1.234.567",
                                  "2 51", "₩ 2 510,000"])
def test_amounts_invalid(text):
    assert normalize_amount(text) is None


def test_a_long_bare_number_is_not_an_amount():
    # an approval or card number after a misread key ("승인번호 42270085") is no amount; with a currency,
    # grouping or decimals the same digits are one, and short bare numbers stay amounts ("1200")
    assert normalize_amount("42270085") is None and normalize_amount("1234567") is None
    assert normalize_amount("42,270,085") == "42270085" and normalize_amount("₩1234567") == "1234567 KRW"
    assert normalize_amount("12345678.00") == "12345678.00" and normalize_amount("123456") == "123456"


def test_amount_keeps_decimal_digits():
    value, cur = parse_amount("RM 10.50")
    assert str(value) == "10.50" and cur == "MYR"


def test_rrn_valid_and_invalid():
    good = _rrn("900101123456")
    assert validate_rrn(good) and normalize_rrn(good.replace("-", "")) == good
    assert rrn_birth_date(good) == "1990-01-01"
    bad_digit = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert not validate_rrn(bad_digit)
    bad_date = _rrn("901301123456")           # month 13: checksum fine, birth date impossible
    assert ids.valid_rrn(bad_date) and not validate_rrn(bad_date)
    assert normalize_rrn("12345") is None


def test_brn_valid_and_invalid():
    good = _brn("123456789")
    assert ids.valid_brn(good) and normalize_brn(good.replace("-", "")) == good
    assert not ids.valid_brn(good[:-1] + str((int(good[-1]) + 1) % 10))
    assert normalize_brn("123-45-678") is None


def test_card_luhn_valid_and_invalid():
    good = _card("411111111111111")
    assert good == "4111111111111111" and ids.valid_luhn(good)
    assert normalize_card("4111 1111 1111 1111") == "4111111111111111"
    assert not ids.valid_luhn("4111111111111112")
    assert normalize_card("1234") is None


def test_phone_email_url_account():
    assert normalize_phone("+82 10-1234-5678") == "+821012345678"
    assert normalize_phone("02-735-4702") == "027354702"
    assert normalize_phone("12-34") is None and normalize_phone("call me") is None
    assert normalize_email("NG@OJCGROUP.COM") == "ng@ojcgroup.com"
    assert normalize_email("not-an-email@") is None
    assert normalize_url("www.Example.com/a") == "https://www.example.com/a"
    assert normalize_url("example") is None
    assert normalize_account("110-123-456789") == "110-123-456789"
    assert normalize_account("1-2") is None


def test_normalize_dispatch_reports_validity():
    assert normalize("DATE", "2024. 3. 5.") == ("2024-03-05", True)
    assert normalize("DATE", "2024. 2. 30.") == (None, False)
    assert normalize("CARD", "4111 1111 1111 1112")[1] is False
    assert normalize("PERSON", "  Kim   Minsu ") == ("Kim Minsu", None)
