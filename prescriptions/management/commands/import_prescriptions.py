import gc
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.log import record
from audit.models import AuditEvent
from prescriptions.importer import ImportFileError, import_file
from prescriptions.management.commands.seed_demo import analyze
from prescriptions.models import Patient, Pharmacy, Prescription, StatusChange


class Command(BaseCommand):
    help = (
        "Import (upsert) patients and prescriptions from a CSV or JSON file of the pharmacy's "
        "records. Keyed by (pharmacy, patient_id) and (pharmacy, rx_id): re-importing changes "
        "nothing. Bad rows are reported by number and skipped (exit status 2); a failure of the "
        "database rolls the whole file back."
    )
    # Django's system checks (URL patterns, admin, templates: a second or more of imports and
    # checks at each start) say nothing about a data load; `manage.py check` and deployment run
    # them.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="A .csv or .json file")
        parser.add_argument(
            "--pharmacy",
            help=(
                "Code of the pharmacy whose records these are: rows naming another pharmacy are "
                "refused. Required when several pharmacies exist and the file has no pharmacy "
                "column."
            ),
        )

    def handle(
        self, *args: Any, path: str, pharmacy: str | None, verbosity: int, **options: Any
    ) -> None:
        # What Django's start built lives on: frozen, the collector no longer walks those
        # objects again and again while the rows are read (each batch allocates hundreds of
        # thousands of objects), ~10% of the import's CPU. Unfrozen at the end, for a caller
        # that runs the command in a long-lived process (call_command).
        gc.freeze()
        try:
            self._import(path, pharmacy)
        finally:
            gc.unfreeze()

    def _import(self, path: str, pharmacy: str | None) -> None:
        fixed = None
        if pharmacy:
            fixed = Pharmacy.objects.filter(code=pharmacy).first()
            if fixed is None:
                raise CommandError(f"No pharmacy with code '{pharmacy}'.")
        try:
            result = import_file(path, pharmacy=fixed)
        except FileNotFoundError:
            raise CommandError(f"No such file: {path}") from None
        except ImportFileError as exc:
            raise CommandError(f"Nothing imported: {exc}") from None
        if result.created + result.updated > 1000:
            # A large load changes what the query planner should do: refresh the statistics of
            # the tables an import writes (not of the whole database).
            analyze(Patient, Prescription, StatusChange)
        record(
            None,
            AuditEvent.Action.IMPORT,
            description=(
                f"import_prescriptions: {result.created} created, {result.updated} updated, "
                f"{result.unchanged} unchanged, {result.error_count} rejected"
            ),
        )
        self.stdout.write(
            f"{result.rows} rows: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged, {result.error_count} rejected; "
            f"{result.patients_created} new patients, {result.status_changes} status changes."
        )
        for row, message in result.errors:
            self.stderr.write(f"row {row}: {message}")
        if result.error_count > len(result.errors):
            self.stderr.write(f"… and {result.error_count - len(result.errors)} more errors.")
        if result.error_count:
            sys.exit(2)  # scripts can tell "some rows rejected" from success
