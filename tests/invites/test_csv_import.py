import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape

from invites import services
from invites.models import Invite

URL = reverse("invites:import_csv")
HEADER = "First Name,Last Name,Email,Mobile Number"


def upload(client, content: bytes | str, name="patients.csv"):
    if isinstance(content, str):
        content = content.encode("utf-8")
    return client.post(
        URL, {"csv_file": SimpleUploadedFile(name, content, content_type="text/csv")}
    )


def test_it_serves_the_csv_template(admin_in_a):
    response = admin_in_a.get(reverse("invites:csv_template"))
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.decode() == HEADER + "\r\n"


def test_it_imports_a_good_file_from_excel(admin_in_a, clinics, outboxes):
    # BOM, CRLF, quoted fields with commas, blank cells, trailing empty rows.
    content = (
        "\ufeff" + HEADER + "\r\n"
        '"Ada","Lovelace, Countess",ada@example.com,\r\n'
        "Alan,Turing,,2155550123\r\n"
        "Grace,Hopper,,\r\n"
        ",,,\r\n,,,\r\n"
    )
    response = upload(admin_in_a, content)
    html = response.content.decode()
    assert response.status_code == 200
    assert "CSV import was successful: 3 patients invited, 0 skipped" in html
    assert Invite.objects.filter(clinic=clinics.a).count() == 3
    assert Invite.objects.get(first_name="Ada").last_name == "Lovelace, Countess"
    assert outboxes and outboxes[0]["to"] == "2155550123"


def test_it_skips_duplicates_of_the_clinic_and_of_other_rows(admin_in_a, clinics):
    upload(admin_in_a, f"{HEADER}\nAda,Lovelace,ada@example.com,\n")
    response = upload(
        admin_in_a,
        (
            f"{HEADER}\nAda,Lovelace,ada@example.com,\n"
            "Alan,Turing,,2155550123\nalan ,TURING,alan@example.com,2155550123\n"
        ),
    )
    html = response.content.decode()
    assert "1 patient invited, 2 skipped as duplicates" in html
    assert "Already invited to or joined this clinic." in html and "Same patient as row 3." in html
    assert Invite.objects.count() == 2


def test_a_file_of_only_duplicates_invites_nobody(admin_in_a, clinics):
    upload(admin_in_a, f"{HEADER}\nAda,Lovelace,ada@example.com,\n")
    upload(admin_in_a, f"{HEADER}\nAda,Lovelace,ada@example.com,\nada,lovelace,ADA@example.com,\n")
    assert Invite.objects.count() == 1


BAD_FILES = {
    "wrong header": ("First,Last,Email,Mobile Number\nAda,Lovelace,,\n", "should be named"),
    "renamed column": (
        "First Name,Last Name,Email,Mobile\nAda,Lovelace,,\n",
        '"Mobile" should be named "Mobile Number"',
    ),
    "missing column": (
        "First Name,Last Name,Email\nAda,Lovelace,\n",
        'missing column "Mobile Number"',
    ),
    "extra column": (f"{HEADER},Notes\nAda,Lovelace,,,x\n", 'unexpected column "Notes"'),
    "reordered": ("Last Name,First Name,Email,Mobile Number\nAda,Lovelace,,\n", "different order"),
    "no data rows": (f"{HEADER}\r\n,,,\r\n\r\n", "no patient rows"),
    "empty file": ("", "The file is empty"),
    "latin-1": (f"{HEADER}\nJosé,Muñoz,,\n".encode("latin-1"), "not UTF-8 encoded"),
    "binary renamed .csv": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "not a CSV text file"),
    "zip renamed .csv": (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "not"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_it_refuses_bad_files_and_invites_nobody(admin_in_a, case, outboxes):
    content, message = BAD_FILES[case]
    response = upload(admin_in_a, content)
    html = response.content.decode()
    assert escape(message) in html
    assert "Invite Patients" in html  # back on the page, message under the file field
    assert not Invite.objects.exists() and not outboxes


@pytest.mark.parametrize(
    "row,reason",
    [
        ("Ada,Lovelace,ada@example.com,(215) 555-0123", "digits only"),
        ("Ada,Lovelace,ada@example.com,215-555-0123", "digits only"),
        ("Ada,Lovelace,ada@example.com,12345", "digits only"),
        ("Ada,Lovelace,ada-at-example.com,", "valid email address"),
        (",Lovelace,,", "Enter the first name."),
        ("Ada,,,", "Enter the last name."),
    ],
)
def test_it_rejects_bad_rows_and_invites_nobody(admin_in_a, row, reason, outboxes):
    response = upload(admin_in_a, f"{HEADER}\nGrace,Hopper,grace@example.com,\n{row}\n")
    html = response.content.decode()
    assert "Nothing was invited." in html and reason in html
    assert "Rejected" in html and "Not invited (file has errors)" in html
    assert not Invite.objects.exists() and not outboxes


def test_it_refuses_more_than_10000_rows(admin_in_a):
    rows = "\n".join(f"P{i},Q{i},,{2150000000 + i}" for i in range(10_001))
    response = upload(admin_in_a, f"{HEADER}\n{rows}\n")
    assert "has 10,001 patient rows; at most 10,000" in response.content.decode()
    assert not Invite.objects.exists()


def test_it_refuses_oversized_files(admin_in_a, monkeypatch):
    monkeypatch.setattr(services, "CSV_MAX_BYTES", 1024)
    response = upload(admin_in_a, HEADER + "\n" + "Ada,Lovelace,,\n" * 200)
    assert "larger than" in response.content.decode()
    assert not Invite.objects.exists()


def test_it_imports_10000_rows_with_queued_deliveries(admin_in_a, clinics, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    from django_tasks import default_task_backend

    rows = "\n".join(f"P{i},Q{i},p{i}@example.com,{2150000000 + i}" for i in range(10_000))
    response = upload(admin_in_a, f"{HEADER}\n{rows}\n")
    assert "10000 patients invited" in response.content.decode()
    assert Invite.objects.count() == 10_000
    assert len(set(Invite.objects.values_list("code", flat=True))) == 10_000
    assert Invite.objects.filter(sent_at__isnull=False).count() == 0  # queued, not sent inline
    assert len(default_task_backend.results) == 50


@pytest.mark.parametrize("who", ["mallory", "phil"])
def test_it_404s_imports_for_users_without_a_clinic(client_for, cast, clinics, who):
    response = upload(client_for(getattr(cast, who)), f"{HEADER}\nAda,Lovelace,,\n")
    assert response.status_code == 404
    assert not Invite.objects.exists()


# The result page stays small; every row is in the downloadable report -------------------------


def report_rows(client, response) -> list[dict]:
    import csv
    import io

    report = response.context["report"]
    download = client.get(reverse("invites:import_report", args=[report.pk]))
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    assert download["Content-Disposition"].startswith("attachment;")
    return list(csv.DictReader(io.StringIO(download.content.decode())))


def test_a_10000_row_import_gives_a_small_page_and_a_full_report(admin_in_a, clinics):
    rows = [f"P{i},Q{i},p{i}@example.com,{2150000000 + i}" for i in range(9_999)]
    rows.append("P0,Q0,p0@example.com,")  # the same patient as row 2
    response = upload(admin_in_a, HEADER + "\n" + "\n".join(rows) + "\n")
    html = response.content.decode()
    assert "9999 patients invited, 1 skipped as duplicate" in html
    assert len(response.content) < 60_000  # the per-row page was 2.7 MB
    assert "Same patient as row 2." in html and "P5000" not in html
    assert reverse("invites:import_report", args=[response.context["report"].pk]) in html
    report = report_rows(admin_in_a, response)
    assert len(report) == 10_000
    assert report[0] == {
        "Row": "2",
        "First Name": "P0",
        "Last Name": "Q0",
        "Email": "p0@example.com",
        "Mobile Number": "2150000000",
        "Result": "Invited",
        "Reason": "",
    }
    assert report[-1]["Result"] == "Skipped (duplicate)"
    assert report[-1]["Reason"] == "Same patient as row 2."


def test_a_rejected_file_lists_only_the_problem_rows(admin_in_a):
    response = upload(admin_in_a, f"{HEADER}\nGrace,Hopper,grace@example.com,\nAda,,,\n")
    html = response.content.decode()
    assert "Enter the last name." in html and "Hopper" not in html
    assert [(r["Row"], r["Result"]) for r in report_rows(admin_in_a, response)] == [
        ("2", "Not invited (file has errors)"),
        ("3", "Rejected"),
    ]


def test_the_report_defuses_spreadsheet_formulas(admin_in_a):
    response = upload(admin_in_a, f'{HEADER}\n"=HYPERLINK(""x"")",Q,,\n')
    [row] = report_rows(admin_in_a, response)
    assert row["First Name"].startswith("'=")


def test_only_the_importer_gets_the_report(admin_in_a, clinics, client_for, cast):
    response = upload(admin_in_a, f"{HEADER}\nAda,Lovelace,,\n")
    url = reverse("invites:import_report", args=[response.context["report"].pk])
    assert client_for(clinics.oscar).get(url).status_code == 404
    assert client_for(cast.mallory).get(url).status_code == 404
    # The importer, once no longer a member of the clinic, neither.
    from invites.models import ClinicMembership

    ClinicMembership.objects.filter(user=clinics.cadmin, clinic=clinics.a).delete()
    assert admin_in_a.get(url).status_code == 404


def test_old_reports_are_deleted_by_the_next_import(admin_in_a):
    import datetime as dt

    from django.utils import timezone

    from invites.models import ImportReport

    first = upload(admin_in_a, f"{HEADER}\nAda,Lovelace,,\n").context["report"]
    ImportReport.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - dt.timedelta(hours=ImportReport.REPORT_HOURS + 1)
    )
    upload(admin_in_a, f"{HEADER}\nAlan,Turing,,\n")
    assert not ImportReport.objects.filter(pk=first.pk).exists()
    assert ImportReport.objects.count() == 1


def test_a_code_taken_meanwhile_is_retried_with_fresh_codes(admin_in_a, clinics, monkeypatch):
    """Codes are unique among live invites: if another invite takes one between the choice and
    the insert, the insert fails as a whole and is retried with fresh codes (on PostgreSQL the
    rows are COPY'd to a staging table and inserted by one statement; the same holds)."""
    from invites.models import Invite as InviteModel

    real = services._fresh_codes
    calls = []

    def racing(count):
        codes = real(count)
        calls.append(codes)
        if len(calls) == 1:  # someone else takes the first code meanwhile
            InviteModel.objects.create(
                clinic=clinics.a, provider=clinics.prov_alice, code=codes[0],
                first_name="Other", last_name="Person",
            )  # fmt: skip
        return codes

    monkeypatch.setattr(services, "_fresh_codes", racing)
    response = upload(admin_in_a, f"{HEADER}\nAda,Lovelace,,\nAlan,Turing,,\n")
    assert "2 patients invited" in response.content.decode()
    assert len(calls) == 2
    codes = list(
        InviteModel.objects.filter(last_name__in=["Lovelace", "Turing"]).values_list(
            "code", flat=True
        )
    )
    assert len(codes) == 2 and calls[0][0] not in codes
