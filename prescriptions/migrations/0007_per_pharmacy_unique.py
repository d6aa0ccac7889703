"""Every patient has a pharmacy; ids are unique per pharmacy (step 3 of 3; see 0005)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("prescriptions", "0006_patient_pharmacy_data"),
    ]

    operations = [
        migrations.AlterField(
            model_name="patient",
            name="pharmacy",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="patients",
                to="prescriptions.pharmacy",
            ),
        ),
        migrations.AddConstraint(
            model_name="patient",
            constraint=models.UniqueConstraint(
                fields=("pharmacy", "pharmacy_patient_id"), name="patient_unique_per_pharmacy"
            ),
        ),
        migrations.AddConstraint(
            model_name="prescription",
            constraint=models.UniqueConstraint(
                fields=("pharmacy", "pharmacy_rx_id"), name="prescription_unique_per_pharmacy"
            ),
        ),
    ]
