"""Access control: each role sees exactly its prescriptions and patients, nothing else."""

import pytest
from django.contrib.auth.models import AnonymousUser

from accounts.models import Delegation
from prescriptions.models import CareGroup, Patient, Prescription, users_reaching

pytestmark = pytest.mark.django_db


def rx_keys(user):
    return set(Prescription.objects.visible_to(user).values_list("pharmacy_rx_id", flat=True))


def patient_keys(user):
    return set(Patient.objects.visible_to(user).values_list("pharmacy_patient_id", flat=True))


ALICE_RX = {"RX1001", "RX1002", "RX3001"}
CAROL_RX = {"RX2001", "RX3002"}


def test_it_shows_a_prescriber_the_prescriptions_carrying_her_npi(cast):
    assert rx_keys(cast.alice) == ALICE_RX
    assert rx_keys(cast.carol) == CAROL_RX
    assert patient_keys(cast.alice) == {"P-A", "P-S"}


def test_it_shows_a_delegate_what_the_prescriber_sees(cast):
    assert rx_keys(cast.bob) == ALICE_RX
    assert patient_keys(cast.bob) == {"P-A", "P-S"}


def test_it_hides_everything_from_a_revoked_delegate(cast):
    Delegation.objects.get(delegate=cast.bob).revoke()
    assert rx_keys(cast.bob) == set()
    assert patient_keys(cast.bob) == set()


def test_it_shows_a_pharmacist_the_care_groups_prescriptions(cast):
    assert rx_keys(cast.phil) == ALICE_RX
    cast.care_group.prescribers.add(cast.npi_carol)
    assert rx_keys(cast.phil) == ALICE_RX | CAROL_RX


def test_it_hides_an_inactive_care_group(cast):
    CareGroup.objects.filter(pk=cast.care_group.pk).update(is_active=False)
    assert rx_keys(cast.phil) == set()


def test_it_shows_nothing_to_an_outsider_ops_or_anonymous(cast):
    assert rx_keys(cast.mallory) == set()
    assert rx_keys(cast.olivia) == set()  # staff do not read PHI through the portal
    assert rx_keys(AnonymousUser()) == set()
    assert patient_keys(cast.mallory) == set()


def test_it_hides_everything_from_a_deactivated_user(cast):
    cast.alice.is_active = False
    cast.alice.save()
    assert rx_keys(cast.alice) == set()


def test_it_unions_the_links_of_a_user_with_two_roles_worth(cast):
    # Carol (a prescriber) also delegates for Alice: she sees both books, once each.
    Delegation.objects.create(delegate=cast.carol, prescriber=cast.npi_alice)
    assert rx_keys(cast.carol) == ALICE_RX | CAROL_RX
    assert Prescription.objects.visible_to(cast.carol).count() == 5
    # …and a pharmacist who is also in two overlapping groups sees each row once.
    second = CareGroup.objects.create(name="Second", pharmacy=cast.pharmacy)
    second.prescribers.add(cast.npi_alice)
    second.pharmacists.add(cast.phil)
    assert Prescription.objects.visible_to(cast.phil).count() == 3


def test_the_shared_patient_shows_only_own_prescriptions(cast):
    shared = Prescription.objects.visible_to(cast.alice).filter(patient=cast.pat_shared)
    assert set(shared.values_list("pharmacy_rx_id", flat=True)) == {"RX3001"}


def test_the_gate_resolves_prescribers_once_per_request_and_never_caches_outside_one(
    cast, rf, django_assert_num_queries
):
    from prescriptions.middleware import AccessCacheMiddleware
    from prescriptions.models import reachable_prescriber_ids

    seen = []

    def view(request):
        with django_assert_num_queries(1):
            seen.append(reachable_prescriber_ids(cast.bob))
            seen.append(reachable_prescriber_ids(cast.bob))
        return None

    AccessCacheMiddleware(view)(rf.get("/"))
    assert seen == [[cast.npi_alice.pk]] * 2
    # Outside a request (websocket consumers, commands) every call asks the database again,
    # so a revoked delegation is seen at once.
    Delegation.objects.get(delegate=cast.bob).revoke()
    assert reachable_prescriber_ids(cast.bob) == []


def _revoke_bob(cast):
    Delegation.objects.get(delegate=cast.bob).revoke()


def _deactivate_group(cast):
    CareGroup.objects.filter(pk=cast.care_group.pk).update(is_active=False)


def _deactivate_bob_and_phil(cast):
    type(cast.bob).objects.filter(pk__in=[cast.bob.pk, cast.phil.pk]).update(is_active=False)


def _carol_two_links(cast):
    Delegation.objects.create(delegate=cast.carol, prescriber=cast.npi_alice)
    second = CareGroup.objects.create(name="Second", pharmacy=cast.pharmacy)
    second.prescribers.add(cast.npi_alice, cast.npi_carol)
    second.pharmacists.add(cast.phil, cast.mallory)


@pytest.mark.parametrize(
    "change",
    [None, _revoke_bob, _deactivate_group, _deactivate_bob_and_phil, _carol_two_links],
    ids=["as cast", "delegation revoked", "care group inactive", "users inactive", "two links"],
)
def test_the_reverse_lookup_agrees_with_visible_to_for_every_user_and_prescriber(cast, change):
    """users_reaching (who is told about, and pushed, a message) is visible_to read backwards."""
    if change:
        change(cast)
    users = list(type(cast.alice).objects.all())
    prescribers = [cast.npi_alice, cast.npi_carol]
    reach = users_reaching(p.pk for p in prescribers)
    for prescriber in prescribers:
        for user in users:
            user.refresh_from_db()
            sees = Prescription.objects.visible_to(user).filter(prescriber=prescriber).exists()
            assert (user.pk in reach.get(prescriber.pk, set())) == sees, (user.email, prescriber)
