"""The fixed cast every test uses, plus service and browser fixtures.

Cast (all OTP-verified when signed in with `sign_in`):
- alice: prescriber (NPI A) with patients; bob: alice's delegate;
- phil: pharmacist in a care group covering alice (not carol);
- carol: another prescriber with other patients; olivia: ops (staff);
- mallory: an outsider with no links at all.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
from dataclasses import dataclass

import pytest
from django.conf import settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Delegation, User
from prescriptions.models import (
    CareGroup,
    Patient,
    Pharmacy,
    Prescriber,
    Prescription,
    Status,
)
from prescriptions.npi import make_npi

PASSWORD = "Correct-Horse-42!"
IN_CI = os.getenv("CI", "").lower() in {"1", "true", "yes"}

# Each xdist worker has its own database, so the same primary keys recur in both: on the
# shared Redis of CI, each also gets its own cache keys and channel-layer names, or one
# worker's chat groups and presence keys ("request-1") would be the other's.
if _worker := os.getenv("PYTEST_XDIST_WORKER", ""):
    _cache = settings.CACHES["default"]
    _cache["KEY_PREFIX"] = f"{_cache.get('KEY_PREFIX', '')}-{_worker}"
    _layer = settings.CHANNEL_LAYERS["default"].setdefault("CONFIG", {})
    if "hosts" in _layer:
        _layer["prefix"] = f"{_layer.get('prefix', 'asgi')}-{_worker}"


# Services: required in CI, skipped (and said so) on a laptop ---------------------------------


def require(condition: bool, what: str) -> None:
    """Skip locally, but fail in CI, when a service or the browser is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not available.")
    pytest.skip(f"{what} is not available here (CI runs this test).")


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def redis_url() -> str:
    url = settings.REDIS_URL or os.getenv("TEST_REDIS_URL", "")
    if not url and port_open("127.0.0.1", 6379):
        url = "redis://127.0.0.1:6379/0"
    require(bool(url), "Redis (REDIS_URL)")
    return url


def pytest_report_header(config):
    db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1]
    return [f"portal: database={db}, channel layer={layer}, CI={IN_CI}"]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """PBKDF2 with a million rounds per user would dominate the suite's time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# The cast ------------------------------------------------------------------------------------


@dataclass
class Cast:
    pharmacy: Pharmacy
    npi_alice: Prescriber
    npi_carol: Prescriber
    alice: User
    bob: User
    phil: User
    carol: User
    olivia: User
    mallory: User
    care_group: CareGroup
    pat_alice: Patient
    pat_carol: Patient
    pat_shared: Patient
    rx_alice: Prescription
    rx_alice_old: Prescription
    rx_carol: Prescription
    rx_shared_alice: Prescription
    rx_shared_carol: Prescription


def make_user(email: str, role: str, **extra) -> User:
    first, _, last = email.split("@")[0].partition(".")
    return User.objects.create_user(
        email,
        PASSWORD,
        first_name=first.title(),
        last_name=(last or "Tester").title(),
        role=role,
        **extra,
    )


def make_patient(
    key: str, first: str, last: str, pharmacy: Pharmacy | None = None, **extra
) -> Patient:
    # A patient record is a pharmacy's; tests with one pharmacy need not name it.
    pharmacy = pharmacy or Pharmacy.objects.order_by("pk").first()
    defaults = {
        "date_of_birth": dt.date(1980, 1, 1),
        "sex": "F",
        "phone": "4165552639",
        "email": f"{first.lower()}@example.com",
        "address_line1": "2751 Pennsylvania Ave",
        "city": "Philadelphia",
        "state": "PA",
        "zip_code": "19130",
    }
    return Patient.objects.create(
        pharmacy=pharmacy,
        pharmacy_patient_id=key,
        first_name=first,
        last_name=last,
        **(defaults | extra),
    )


def make_rx(
    key: str, patient: Patient, prescriber: Prescriber, pharmacy: Pharmacy, **extra
) -> Prescription:
    defaults = {
        "rx_number": key.removeprefix("RX"),
        "medication_name": "Humira Pen",
        "strength": "40 MG/0.4ML",
        "dosage_form": "KIT",
        "status": Status.ORDER_SCHEDULED,
        "refills_remaining": 10,
    }
    return Prescription.objects.create(
        pharmacy_rx_id=key,
        patient=patient,
        prescriber=prescriber,
        pharmacy=pharmacy,
        **(defaults | extra),
    )


@pytest.fixture
def cast(db) -> Cast:
    pharmacy = Pharmacy.objects.create(code="main", name="CareLink Specialty Pharmacy")
    npi_alice = Prescriber.objects.create(
        npi=make_npi("100000001"),
        first_name="Alice",
        last_name="Adams",
        address_line1="1 Main St",
        city="Philadelphia",
        state="PA",
        zip_code="19106",
        phone="2155550101",
    )
    npi_carol = Prescriber.objects.create(
        npi=make_npi("100000002"),
        first_name="Carol",
        last_name="Clark",
        address_line1="9 Lake Rd",
        city="Cleveland",
        state="OH",
        zip_code="44101",
        phone="2165550102",
    )
    alice = make_user("alice.adams@example.com", User.Role.PRESCRIBER, prescriber=npi_alice)
    carol = make_user("carol.clark@example.com", User.Role.PRESCRIBER, prescriber=npi_carol)
    bob = make_user("bob.baker@example.com", User.Role.DELEGATE)
    Delegation.objects.create(delegate=bob, prescriber=npi_alice)
    phil = make_user("phil.pharm@example.com", User.Role.PHARMACIST)
    group = CareGroup.objects.create(name="Alice's team", pharmacy=pharmacy)
    group.prescribers.add(npi_alice)
    group.pharmacists.add(phil)
    olivia = make_user("olivia.ops@example.com", User.Role.OPS, is_staff=True, is_superuser=True)
    mallory = make_user("mallory.out@example.com", User.Role.PRESCRIBER)

    pat_alice = make_patient("P-A", "Avril", "Lavigne")
    pat_carol = make_patient("P-C", "Cedric", "Stone", date_of_birth=dt.date(1975, 6, 2))
    pat_shared = make_patient("P-S", "Sam", "Shared", date_of_birth=dt.date(1990, 3, 3))
    return Cast(
        pharmacy=pharmacy,
        npi_alice=npi_alice,
        npi_carol=npi_carol,
        alice=alice,
        bob=bob,
        phil=phil,
        carol=carol,
        olivia=olivia,
        mallory=mallory,
        care_group=group,
        pat_alice=pat_alice,
        pat_carol=pat_carol,
        pat_shared=pat_shared,
        rx_alice=make_rx("RX1001", pat_alice, npi_alice, pharmacy),
        rx_alice_old=make_rx(
            "RX1002",
            pat_alice,
            npi_alice,
            pharmacy,
            status=Status.DISCONTINUED,
            medication_name="Otezla",
            strength="30 MG",
            dosage_form="TABLET",
        ),
        rx_carol=make_rx("RX2001", pat_carol, npi_carol, pharmacy, medication_name="Stelara"),
        rx_shared_alice=make_rx(
            "RX3001", pat_shared, npi_alice, pharmacy, medication_name="Dupixent"
        ),
        rx_shared_carol=make_rx(
            "RX3002", pat_shared, npi_carol, pharmacy, medication_name="Enbrel"
        ),
    )


def verify_otp(client, user: User) -> TOTPDevice:
    """Mark the client's session as having passed the second factor (django-otp)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator", confirmed=True)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    return device


def sign_in(client, user: User):
    """Sign `client` in as `user`, second factor passed."""
    client.force_login(user)
    verify_otp(client, user)
    return client


@pytest.fixture
def client_for(client):
    """`client_for(user)` returns the test client signed in (OTP-verified) as that user."""

    def _client_for(user: User):
        return sign_in(client, user)

    return _client_for


# Browser ---------------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def chromium_available() -> None:
    require(
        shutil.which(CHROMIUM) is not None or os.path.exists(CHROMIUM),
        "Chromium (/usr/bin/chromium)",
    )
