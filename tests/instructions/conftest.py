"""Instructions fixtures: the patient-portal family (tests/patient_portal/conftest.py), PDFs
(tests/requests_chat/conftest.py) and a private media folder."""

from __future__ import annotations

import pytest

from instructions.models import Instruction
from instructions.services import publish_instruction
from tests.invites.conftest import clinics, fresh_throttles, outboxes  # noqa: F401
from tests.patient_portal.conftest import Family, family  # noqa: F401
from tests.requests_chat.conftest import make_pdf, private_media, upload  # noqa: F401


def share(
    family: Family,  # noqa: F811
    chart=None,
    *,
    title: str = "Treatment plan",
    text: str = "Take **one** tablet daily.",
    pdf=None,
) -> Instruction:
    """An instruction written by provider Alice (clinic A) for `chart` (Mary's own by default)."""
    return publish_instruction(
        chart=chart or family.mary_a,
        author=family.clinics.prov_alice.user,
        title=title,
        text=text,
        pdf=pdf,
    )


@pytest.fixture
def patient(client, family):  # noqa: F811
    """Mary signed in (no second factor: optional for patients)."""
    client.force_login(family.mary)
    return client
