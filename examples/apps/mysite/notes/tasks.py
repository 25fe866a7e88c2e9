"""The sample task: sum of squares up to n, written to the TaskRun row.

`perform` is the plain function RQ runs (rq worker imports notes.tasks);
`run_task` is the same as a Celery task when Celery is installed.
"""
import os
import socket

from django.utils import timezone


def perform(run_id):
    from .models import TaskRun

    run = TaskRun.objects.get(pk=run_id)
    run.result = sum(i * i for i in range(run.number + 1))
    run.state = TaskRun.DONE
    run.worker = "%s:%s" % (socket.gethostname(), os.getpid())
    run.finished = timezone.now()
    run.save(update_fields=["result", "state", "worker", "finished"])
    return run.result


try:
    from celery import shared_task
except ImportError:  # RQ or no worker on this box
    run_task = None
else:

    @shared_task(name="notes.run_task", acks_late=True)
    def run_task(run_id):
        return perform(run_id)
