"""The clinic gates: one membership rule, `editable_by` for row actions, the member-only pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import Http404
from django.urls import reverse

from invites.models import Clinic, ClinicMembership, ClinicPatient, Invite
from invites.selectors import clinic_context
from tests.invites.test_invite_list import make_invites


def make_invite(clinics: Any) -> Invite:
    return make_invites(clinics, 1)[0]


def test_it_gives_a_deactivated_member_no_clinic_data(cast: Any, clinics: Any) -> None:
    make_invite(clinics)
    ClinicPatient.objects.create(clinic=clinics.a, provider=clinics.prov_alice, user=cast.mallory)
    for user in (clinics.cadmin, cast.alice):
        assert Invite.objects.visible_to(user).exists()
        assert ClinicPatient.objects.visible_to(user).exists()
        user.is_active = False
        user.save()
        assert not ClinicMembership.objects.of_user(user).exists()
        assert not Clinic.objects.visible_to(user).exists()
        assert not Invite.objects.visible_to(user).exists()
        assert not ClinicPatient.objects.visible_to(user).exists()


def test_it_names_the_clinics_a_user_administers(cast: Any, clinics: Any) -> None:
    assert set(Clinic.objects.administered_by(clinics.cadmin)) == {clinics.a, clinics.b}
    assert not Clinic.objects.administered_by(cast.alice).exists()
    ctx = clinic_context(cast.alice)
    assert not ctx.is_admin and ctx.provider == clinics.prov_alice
    ctx = clinic_context(clinics.cadmin, remembered_clinic_id=clinics.b.pk)
    assert ctx.is_admin and ctx.clinic == clinics.b and ctx.provider == clinics.prov_carol


def test_a_removed_invite_is_not_editable(clinics: Any) -> None:
    invite = make_invite(clinics)
    assert Invite.objects.editable_by(clinics.cadmin).filter(pk=invite.pk).exists()
    invite.remove()
    assert Invite.objects.visible_to(clinics.cadmin).filter(pk=invite.pk).exists()
    assert not Invite.objects.editable_by(clinics.cadmin).filter(pk=invite.pk).exists()


@pytest.mark.parametrize("action", ["resend", "remove"])
def test_it_404s_row_actions_on_a_removed_invite(
    admin_in_a: Any, clinics: Any, action: Any
) -> None:
    invite = make_invite(clinics)
    invite.remove()
    assert admin_in_a.post(reverse(f"invites:{action}", args=[invite.pk])).status_code == 404


@pytest.mark.parametrize("name", ["sent", "csv_template"])
def test_the_member_only_pages_404_for_a_user_of_no_clinic(
    client_for: Any, cast: Any, clinics: Any, name: Any
) -> None:
    assert client_for(cast.mallory).get(reverse(f"invites:{name}")).status_code == 404
    assert client_for(clinics.cadmin).get(reverse(f"invites:{name}")).status_code != 404


def test_an_explicit_clinic_must_be_one_of_the_users(clinics: Any) -> None:
    ctx = clinic_context(clinics.cadmin, clinic_id=clinics.b.pk, remembered_clinic_id=clinics.a.pk)
    assert ctx.clinic == clinics.b
    with pytest.raises(Http404):
        clinic_context(clinics.cadmin, clinic_id=clinics.c.pk)
