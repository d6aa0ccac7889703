import re

from django.core import mail
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import DelegateInvite, PharmacistInvite, User
from audit.models import AuditEvent

NEW_PASSWORD = "Blue-Kettle-2024!"


def test_ops_invite_a_pharmacist_into_a_care_group(cast, client_for, client):
    ops = client_for(cast.olivia)
    response = ops.post(
        reverse("admin:accounts_pharmacistinvite_add"),
        {"email": "pia.pharm@example.com", "care_group": cast.care_group.pk},
    )
    assert response.status_code == 302
    invite = PharmacistInvite.objects.get()
    assert invite.role == User.Role.PHARMACIST and invite.care_group == cast.care_group
    link = (
        "/"
        + re.search(r"https?://\S+/accounts/invite/\S+/", mail.outbox[-1].body)
        .group(0)
        .split("/", 3)[3]
    )
    client.logout()
    client.post(
        link,
        {
            "first_name": "Pia",
            "last_name": "Pharm",
            "email": "pia.pharm@example.com",
            "phone": "",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    pia = User.objects.get(email="pia.pharm@example.com")
    assert pia.role == User.Role.PHARMACIST
    assert cast.care_group.pharmacists.filter(pk=pia.pk).exists()
    assert DelegateInvite.objects.get().status == "accepted"


def test_the_pharmacist_invite_admin_lists_only_pharmacist_invites(cast, client_for):
    DelegateInvite.objects.create(email="d@example.com", prescriber=cast.npi_alice)
    DelegateInvite.objects.create(
        email="p@example.com", care_group=cast.care_group, role="pharmacist"
    )
    page = (
        client_for(cast.olivia)
        .get(reverse("admin:accounts_pharmacistinvite_changelist"))
        .content.decode()
    )
    assert "p@example.com" in page and "d@example.com" not in page


def test_ops_reset_mfa_and_it_is_logged(cast, client_for, client):
    TOTPDevice.objects.create(user=cast.alice, name="Authenticator", confirmed=True)
    StaticDevice.objects.create(user=cast.alice, name="Recovery codes")
    alice_client = client.__class__()
    alice_client.force_login(cast.alice)
    response = client_for(cast.olivia).post(
        reverse("admin:accounts_user_changelist"),
        {
            "action": "reset_mfa",
            "_selected_action": [cast.alice.pk],
        },
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=cast.alice).exists()
    assert not StaticDevice.objects.filter(user=cast.alice).exists()
    assert AuditEvent.objects.filter(
        action="security", description__startswith="MFA reset", object_id=str(cast.alice.pk)
    ).exists()
    # Alice's existing session ended with the factor.
    assert alice_client.get(reverse("accounts:profile")).url.startswith(reverse("accounts:login"))
