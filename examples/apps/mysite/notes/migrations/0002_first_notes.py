from django.db import migrations

FIRST_NOTES = [
    ("Welcome", "This row was written by a data migration, under the release phase's advisory lock."),
    ("Static files", "The stylesheet of this page comes from nginx, gzipped, never from gunicorn."),
    ("Tasks", "The tasks page enqueues work for the Celery or RQ worker and shows its result."),
]


def add_notes(apps, schema_editor):
    Note = apps.get_model("notes", "Note")
    for title, body in FIRST_NOTES:
        Note.objects.get_or_create(title=title, defaults={"body": body})


def remove_notes(apps, schema_editor):
    Note = apps.get_model("notes", "Note")
    Note.objects.filter(title__in=[title for title, _ in FIRST_NOTES]).delete()


class Migration(migrations.Migration):
    dependencies = [("notes", "0001_initial")]

    operations = [migrations.RunPython(add_notes, remove_notes)]
