"""Formats of the codes on invoices and superbills: CPT and ICD-10-CM."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

# CPT: five characters, four digits then a digit or the category letter (F: II, T: III,
# U: proprietary laboratory analyses), e.g. 99213, 0001F, 0042T.
CPT = re.compile(r"[0-9]{4}[0-9FTU]")
# ICD-10-CM: a letter (not U), two characters, then optionally a dot and 1-4 more: E11.9, Z00.00.
ICD10 = re.compile(r"[A-TV-Z][0-9][0-9AB](\.[0-9A-TV-Z]{1,4})?")
MAX_ICD10_PER_LINE = 12


def validate_cpt(value: str) -> None:
    if not CPT.fullmatch(value or ""):
        raise ValidationError(
            "A CPT code is five characters: four digits, then a digit or F, T or U (like 99213).",
            code="cpt",
        )


def parse_icd10_codes(text: str) -> list[str]:
    """ "e11.9, I10" -> ["E11.9", "I10"]; raises ValidationError naming the first bad code."""
    codes = [c.strip().upper() for c in re.split(r"[,\s;]+", text or "") if c.strip()]
    if len(codes) > MAX_ICD10_PER_LINE:
        raise ValidationError(f"At most {MAX_ICD10_PER_LINE} ICD-10 codes per line.")
    for code in codes:
        if not ICD10.fullmatch(code):
            raise ValidationError(
                f"“{code[:12]}” is not an ICD-10 code (a letter, two characters, optionally a "
                "dot and up to four more, like E11.9).",
                code="icd10",
            )
    return list(dict.fromkeys(codes))


def validate_icd10_list(value: str) -> None:
    parse_icd10_codes(value)
