"""The demo data: two instructions for the demo patient's chart, one for her child; idempotent."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from instructions.models import Instruction


@pytest.mark.django_db
def test_seed_instructions_after_the_portal_demo():
    call_command("seed_demo", verbosity=0)
    call_command("seed_clinics", verbosity=0)
    call_command("seed_patient_portal", verbosity=0)
    call_command("seed_instructions")
    own = Instruction.objects.filter(chart__patient_user__email="patient@demo.test")
    child = Instruction.objects.filter(chart__legal_first_name="Tim")
    assert own.count() == 2 and child.count() == 1
    call_command("seed_instructions")
    assert Instruction.objects.count() == 3


@pytest.mark.django_db
def test_seed_instructions_without_the_portal_demo_skips(capsys):
    call_command("seed_instructions")
    assert "skipped" in capsys.readouterr().out
    assert not Instruction.objects.exists()
