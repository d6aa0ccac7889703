"""No double booking, by the database: an exclusion constraint over (provider =, time range &&)
for live appointments. PostgreSQL only (btree_gist lets a plain column join a GiST index);
both operations do nothing on SQLite."""

from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations

from scheduling.db import AddConstraintOnPostgres


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]

    operations = [
        BtreeGistExtension(),
        AddConstraintOnPostgres("appointment"),
    ]
