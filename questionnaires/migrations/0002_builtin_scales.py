"""The built-in rating scales PHQ-9 and GAD-7, shared by every clinic."""

from django.db import migrations


def install(apps, schema_editor):
    from questionnaires.builtins import install as install_builtins

    install_builtins(apps.get_model("questionnaires", "Form"), apps.get_model("questionnaires", "Question"))


def remove(apps, schema_editor):
    Form = apps.get_model("questionnaires", "Form")
    Form.objects.filter(is_builtin=True, slug__in=["phq-9", "gad-7"], assignments__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("questionnaires", "0001_initial")]

    operations = [migrations.RunPython(install, remove)]
