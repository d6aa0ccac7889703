"""Sort and name-prefix indexes for the dashboard on PostgreSQL.

A pharmacist may see half the book (tens of thousands of prescriptions across many prescribers);
the (prescriber, column) indexes then need a top-N sort of every visible row. These indexes let
PostgreSQL walk the dashboard's default order (Priority: next fill, blanks last) and Last Shipped
(newest first, blanks last) and stop after one page. SQLite cannot declare NULLS LAST in an
index, and its planner does well with the per-prescriber indexes, so this is PostgreSQL only.
"""

from django.db import migrations

INDEXES = {
    "prescriptions_prescription": {
        "rx_next_fill_sort": "(next_fill ASC NULLS LAST, id ASC)",
        "rx_last_shipped_sort": "(last_shipped DESC NULLS LAST, id DESC)",
    },
    # The name filters are case-insensitive prefix matches (UPPER(name) LIKE 'PAT%'): these
    # serve them and give the planner statistics on how selective a name is.
    "prescriptions_patient": {
        "patient_upper_last_name": "(UPPER(last_name) text_pattern_ops)",
        "patient_upper_first_name": "(UPPER(first_name) text_pattern_ops)",
    },
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, indexes in INDEXES.items():
        for name, columns in indexes.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} {columns}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for indexes in INDEXES.values():
        for name in indexes:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("prescriptions", "0002_savedfilter")]

    operations = [migrations.RunPython(create, drop)]
