"""Patient and prescription ids are the pharmacy's, so they are unique per pharmacy (step 1 of 3).

Until now `pharmacy_patient_id` and `pharmacy_rx_id` were unique across all pharmacies, and one
pharmacy's ingest token could rewrite another's records by sending the same ids. Step 1 drops the
global uniqueness and gives each patient a (for now nullable) pharmacy; 0006 fills it in from the
patient's prescriptions; 0007 makes it required and adds the (pharmacy, id) unique constraints.
Three migrations, because PostgreSQL refuses to ALTER a table with pending deferred-FK checks from
rows updated in the same transaction.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("prescriptions", "0004_patient_prescriber_index"),
    ]

    operations = [
        migrations.AlterField(
            model_name="patient",
            name="pharmacy_patient_id",
            field=models.CharField(max_length=64),
        ),
        migrations.AlterField(
            model_name="prescription",
            name="pharmacy_rx_id",
            field=models.CharField(
                help_text="The pharmacy's id for this prescription.", max_length=64
            ),
        ),
        migrations.AddField(
            model_name="patient",
            name="pharmacy",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="patients",
                to="prescriptions.pharmacy",
            ),
        ),
    ]
