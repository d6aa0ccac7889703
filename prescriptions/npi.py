"""National Provider Identifier check digit (Luhn over the 80840 prefix + first 9 digits)."""

from django.core.exceptions import ValidationError


def npi_check_digit(first_nine: str) -> int:
    digits = [int(c) for c in "80840" + first_nine]
    total = 0
    # Luhn: double every second digit from the right of the payload (the check digit is appended).
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def _ten_digits(value: str) -> bool:
    # str.isdigit() also accepts "²" and "٣", which int() then refuses or reads as 3.
    return len(value) == 10 and value.isascii() and value.isdigit()


def is_valid_npi(value: str) -> bool:
    return _ten_digits(value) and npi_check_digit(value[:9]) == int(value[9])


def validate_npi(value: str) -> None:
    if not _ten_digits(value):
        raise ValidationError("An NPI is exactly 10 digits.", code="npi_format")
    if not is_valid_npi(value):
        raise ValidationError(
            "This NPI is not valid: its check digit does not match.", code="npi_check"
        )


def make_npi(first_nine: str) -> str:
    """Complete nine digits into a valid NPI (demo data and tests)."""
    return first_nine + str(npi_check_digit(first_nine))
