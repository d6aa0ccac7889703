"""Give every existing patient the pharmacy of its prescriptions (step 2 of 3; see 0005).

- A patient whose prescriptions are all at one pharmacy belongs to that pharmacy.
- A patient with prescriptions at several pharmacies (possible before: the ids were global) stays
  with the pharmacy of its first prescription; for each other pharmacy a copy of the patient is
  made, with the same id and details, and that pharmacy's prescriptions move to the copy. Nothing
  is deleted and every prescription keeps its patient's details.
- A patient without prescriptions goes to the oldest pharmacy; if there is no pharmacy at all, one
  named "Unassigned" is created for them (an operator can move them in the admin).
"""

from django.db import migrations
from django.db.models import F, OuterRef, Subquery


def assign_pharmacies(apps, schema_editor):
    Patient = apps.get_model("prescriptions", "Patient")
    Pharmacy = apps.get_model("prescriptions", "Pharmacy")
    Prescription = apps.get_model("prescriptions", "Prescription")

    # One statement for the common case, whatever the size of the table.
    first_pharmacy = (
        Prescription.objects.filter(patient_id=OuterRef("pk")).order_by("pk").values("pharmacy_id")
    )
    Patient.objects.filter(pharmacy__isnull=True).update(pharmacy_id=Subquery(first_pharmacy[:1]))

    # Prescriptions whose pharmacy is not their patient's: one copy of the patient per pharmacy.
    strays = (
        Prescription.objects.exclude(pharmacy_id=F("patient__pharmacy_id"))
        .values_list("patient_id", "pharmacy_id")
        .distinct()
        .order_by("patient_id", "pharmacy_id")
    )
    for patient_id, pharmacy_id in list(strays):
        copy = Patient.objects.get(pk=patient_id)
        copy.pk = None
        copy.pharmacy_id = pharmacy_id
        copy.save()
        Prescription.objects.filter(patient_id=patient_id, pharmacy_id=pharmacy_id).update(
            patient_id=copy.pk
        )

    orphans = Patient.objects.filter(pharmacy__isnull=True)
    if orphans.exists():
        fallback = Pharmacy.objects.order_by("pk").first()
        if fallback is None:
            fallback = Pharmacy.objects.create(code="unassigned", name="Unassigned")
        orphans.update(pharmacy=fallback)


class Migration(migrations.Migration):
    dependencies = [
        ("prescriptions", "0005_per_pharmacy_ids"),
    ]

    operations = [
        migrations.RunPython(assign_pharmacies, migrations.RunPython.noop, elidable=False),
    ]
