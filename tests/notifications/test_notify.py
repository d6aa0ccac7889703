"""notify(): who is told about what, and how their preferences shape it."""

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Delegation, User
from notifications.models import Activity, Notification, NotificationPreference
from notifications.services import notify, users_reaching
from prescriptions.models import Prescription
from requests_chat.models import Message, Request

pytestmark = pytest.mark.django_db


def recipients(notifications):
    return {n.recipient.email.split(".")[0] for n in notifications}


def names(users):
    return {u.email.split(".")[0] for u in users}


@pytest.mark.parametrize(
    "activity", [Activity.NEW_REQUEST, Activity.NEW_MESSAGE, Activity.NEW_DOCUMENT]
)
def test_it_tells_exactly_who_may_see_the_prescription(
    cast, activity, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = notify(activity=activity, obj=cast.rx_alice)
    assert recipients(created) == {"alice", "bob", "phil"}
    assert (
        Notification.objects.filter(recipient__in=[cast.carol, cast.mallory, cast.olivia]).count()
        == 0
    )


def test_it_leaves_out_the_actor(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        created = notify(activity=Activity.NEW_MESSAGE, obj=cast.rx_alice, actor=cast.phil)
    assert recipients(created) == {"alice", "bob"}


def test_it_tells_carols_side_about_carols_prescription(cast):
    created = notify(activity=Activity.NEW_MESSAGE, obj=cast.rx_carol, actor=cast.phil)
    assert recipients(created) == {"carol"}  # phil's care group does not cover carol


def test_it_matches_visible_to_for_every_user(cast):
    """The reverse lookup agrees with Prescription.objects.visible_to, user by user."""
    for rx in [cast.rx_alice, cast.rx_carol, cast.rx_shared_carol]:
        reached = users_reaching([rx.prescriber_id])[rx.prescriber_id]
        for user in User.objects.all():
            sees = Prescription.objects.visible_to(user).filter(pk=rx.pk).exists()
            assert (user.pk in reached) == sees, (user.email, rx.rx_number)


def test_it_skips_revoked_delegates_and_inactive_care_groups(cast):
    Delegation.objects.get(delegate=cast.bob).revoke()
    cast.care_group.is_active = False
    cast.care_group.save()
    created = notify(activity=Activity.NEW_REQUEST, obj=cast.rx_alice)
    assert recipients(created) == {"alice"}


def test_it_skips_inactive_users(cast):
    User.objects.filter(pk=cast.bob.pk).update(is_active=False)
    created = notify(activity=Activity.NEW_REQUEST, obj=cast.rx_alice)
    assert recipients(created) == {"alice", "phil"}


def test_it_links_a_message_to_its_request(cast):
    chat = Request.objects.create(prescription=cast.rx_alice, created_by=cast.alice)
    message = Message.objects.create(request=chat, author=cast.alice, body="Hi", client_id="c1")
    created = notify(activity=Activity.NEW_MESSAGE, obj=message, actor=cast.alice)
    assert recipients(created) == {"bob", "phil"}
    assert {n.prescription_id for n in created} == {cast.rx_alice.pk}
    assert {n.target_url for n in created} == {reverse("requests_chat:detail", args=[chat.pk])}


def test_a_disabled_in_app_preference_suppresses_it(cast, django_capture_on_commit_callbacks):
    NotificationPreference.objects.create(
        user=cast.bob, activity=Activity.NEW_MESSAGE, in_app=False, email=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        created = notify(activity=Activity.NEW_MESSAGE, obj=cast.rx_alice, actor=cast.phil)
    assert recipients(created) == {"alice"}
    assert not Notification.objects.filter(recipient=cast.bob).exists()
    assert [m.to for m in mail.outbox] == [[cast.alice.email]]


def test_it_emails_without_showing_in_app_when_only_email_is_on(
    cast, django_capture_on_commit_callbacks
):
    NotificationPreference.objects.create(
        user=cast.bob, activity=Activity.NEW_MESSAGE, in_app=False, email=True
    )
    with django_capture_on_commit_callbacks(execute=True):
        created = notify(activity=Activity.NEW_MESSAGE, obj=cast.rx_alice, actor=cast.phil)
    assert recipients(created) == {"alice"}
    assert Notification.objects.visible_to(cast.bob).count() == 0
    assert sorted(m.to[0] for m in mail.outbox) == sorted([cast.alice.email, cast.bob.email])


def test_it_emails_by_default_only_for_the_activities_to_act_on(
    cast, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notify(activity=Activity.NEW_DOCUMENT, obj=cast.rx_alice, actor=cast.phil)
    assert mail.outbox == []
    assert Notification.objects.filter(
        recipient=cast.alice, activity=Activity.NEW_DOCUMENT
    ).exists()


def test_it_sends_nothing_when_the_transaction_rolls_back(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notify(activity=Activity.NEW_MESSAGE, obj=cast.rx_alice, actor=cast.phil)
    assert mail.outbox == []
    assert len(callbacks) == 1  # email and websocket wait for the commit


def test_delegate_joined_tells_the_prescriber(cast):
    delegation = Delegation.objects.get(delegate=cast.bob)
    created = notify(activity=Activity.DELEGATE_JOINED, obj=delegation, actor=cast.bob)
    assert recipients(created) == {"alice"}
    assert created[0].title == "Bob Baker joined as your delegate"


def test_invite_accepted_goes_to_the_given_recipients(cast):
    created = notify(
        activity=Activity.INVITE_ACCEPTED, obj=object(), recipients=[cast.carol], url="/clinic/"
    )
    assert recipients(created) == {"carol"}
    assert created[0].target_url == "/clinic/"


def test_it_refuses_to_guess_recipients_for_unknown_objects(cast):
    with pytest.raises(ValueError, match="recipients"):
        notify(activity=Activity.INVITE_ACCEPTED, obj=object())


def test_visible_to_hides_notifications_about_prescriptions_no_longer_visible(cast):
    notify(activity=Activity.NEW_MESSAGE, obj=cast.rx_alice, actor=cast.phil)
    assert Notification.objects.visible_to(cast.bob).count() == 1
    Delegation.objects.get(delegate=cast.bob).revoke()
    assert Notification.objects.visible_to(cast.bob).count() == 0
    assert Notification.objects.visible_to(cast.mallory).count() == 0


def test_a_delegate_accepting_an_invite_tells_the_prescriber(
    cast, django_capture_on_commit_callbacks
):
    from accounts.models import DelegateInvite
    from accounts.services import accept_invite
    from tests.conftest import make_user

    invite = DelegateInvite.objects.create(
        email="dana.delegate@example.com",
        role=User.Role.DELEGATE,
        prescriber=cast.npi_alice,
        invited_by=cast.alice,
        token_hash="x" * 64,
    )
    dana = make_user("dana.delegate@example.com", User.Role.DELEGATE)
    with django_capture_on_commit_callbacks(execute=True):
        accept_invite(invite=invite, user=dana)
    [n] = Notification.objects.filter(activity=Activity.DELEGATE_JOINED)
    assert n.recipient == cast.alice
    assert n.title == "Dana Delegate joined as your delegate"
    assert n.target_url == reverse("accounts:administration")


def test_a_pharmacist_accepting_an_invite_tells_who_sent_it(
    cast, django_capture_on_commit_callbacks
):
    from accounts.models import DelegateInvite
    from accounts.services import accept_invite
    from tests.conftest import make_user

    invite = DelegateInvite.objects.create(
        email="pat.pharm@example.com",
        role=User.Role.PHARMACIST,
        care_group=cast.care_group,
        invited_by=cast.olivia,
        token_hash="y" * 64,
    )
    pat = make_user("pat.pharm@example.com", User.Role.PHARMACIST)
    accept_invite(invite=invite, user=pat)
    [n] = Notification.objects.filter(activity=Activity.INVITE_ACCEPTED)
    assert n.recipient == cast.olivia
    assert n.title == "Pat Pharm accepted your invite"


def test_a_patient_accepting_a_clinic_invite_tells_the_clinic(
    cast, django_capture_on_commit_callbacks
):
    from invites.models import Clinic, ClinicMembership, Invite
    from invites.services import accept_invite
    from tests.conftest import make_user

    clinic = Clinic.objects.create(name="Riverside Family Clinic")
    cadmin = make_user("carla.mendes@example.com", User.Role.CLINIC_ADMIN)
    ClinicMembership.objects.create(user=cadmin, clinic=clinic, role="admin")
    provider = ClinicMembership.objects.create(
        user=cast.alice, clinic=clinic, role="provider", prescriber=cast.npi_alice
    )
    invite = Invite.objects.create(
        clinic=clinic,
        provider=provider,
        first_name="Paula",
        last_name="Patient",
        code="482913",
        invited_by=cadmin,
    )
    paula = make_user("paula.patient@example.com", User.Role.PATIENT)
    with django_capture_on_commit_callbacks(execute=True):
        accept_invite(invite=invite, user=paula)
    got = Notification.objects.filter(activity=Activity.INVITE_ACCEPTED)
    assert {n.recipient for n in got} == {cadmin, cast.alice}
    assert {n.title for n in got} == {"A patient accepted your invite"}
    assert {n.target_url for n in got} == {reverse("invites:patients")}
    assert all("Paula" not in m.body + m.subject for m in mail.outbox)
