from django.db import models


class Note(models.Model):
    """Rows the database page reads (a few are created by migration 0002)."""

    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.title


class TaskRun(models.Model):
    """A task the tasks page enqueued; the worker writes its result here."""

    QUEUED = "queued"
    DONE = "done"
    STATES = [(QUEUED, "queued"), (DONE, "done")]

    number = models.PositiveIntegerField()
    state = models.CharField(max_length=10, choices=STATES, default=QUEUED)
    result = models.BigIntegerField(null=True, blank=True)
    worker = models.CharField(max_length=100, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]


class Upload(models.Model):
    """A file a visitor uploaded: stored in MEDIA_ROOT, served by nginx."""

    file = models.FileField(upload_to="uploads/")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
