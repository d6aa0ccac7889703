"""Every patient who joined a clinic before charts existed gets their chart: the same clinic,
provider and account, the account's name as the legal name, the invite's date of birth."""

from django.db import migrations


def charts_from_links(apps, schema_editor):
    ClinicPatient = apps.get_model("invites", "ClinicPatient")
    Chart = apps.get_model("patient_portal", "Chart")
    have = set(Chart.objects.exclude(joined_link=None).values_list("joined_link_id", flat=True))
    owned = set(
        Chart.objects.exclude(patient_user=None).values_list("clinic_id", "patient_user_id")
    )
    batch = []
    links = ClinicPatient.objects.select_related("user", "invite").order_by("pk")
    for link in links.iterator(chunk_size=2000):
        if link.pk in have or (link.clinic_id, link.user_id) in owned:
            continue
        batch.append(
            Chart(
                clinic_id=link.clinic_id,
                provider_id=link.provider_id,
                patient_user_id=link.user_id,
                legal_first_name=link.user.first_name[:100],
                legal_last_name=link.user.last_name[:100],
                date_of_birth=link.invite.date_of_birth if link.invite_id else None,
                joined_link_id=link.pk,
                created_at=link.joined_at,
            )
        )
        if len(batch) >= 2000:
            Chart.objects.bulk_create(batch)
            batch = []
    Chart.objects.bulk_create(batch)


def drop_joined_charts(apps, schema_editor):
    Chart = apps.get_model("patient_portal", "Chart")
    Chart.objects.exclude(joined_link=None).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("patient_portal", "0001_initial"),
        ("invites", "0001_initial"),
    ]

    operations = [migrations.RunPython(charts_from_links, drop_joined_charts)]
