"""Hands a TaskRun to whichever worker the box runs (the stack's taskWorker):
Celery when CELERY_BROKER_URL is set, RQ when RQ_REDIS_URL is, else inline."""
import os

from django.conf import settings


class QueueUnavailable(Exception):
    """The broker could not take the task (Redis down): the caller answers 503."""


def backend():
    if getattr(settings, "CELERY_BROKER_URL", ""):
        return "celery"
    if os.environ.get("RQ_REDIS_URL"):
        return "rq"
    return "inline"


def enqueue(run_id):
    kind = backend()
    if kind == "celery":
        from .tasks import run_task

        try:
            # No publish retries: with Redis down the page answers at once.
            run_task.apply_async(args=[run_id], retry=False)
        except Exception as error:  # kombu's OperationalError and friends
            raise QueueUnavailable(str(error)) from error
    elif kind == "rq":
        import redis
        from rq import Queue

        connection = redis.Redis.from_url(
            os.environ["RQ_REDIS_URL"], socket_connect_timeout=1, socket_timeout=2
        )
        try:
            Queue("default", connection=connection).enqueue("notes.tasks.perform", run_id)
        except redis.RedisError as error:
            raise QueueUnavailable(str(error)) from error
    else:
        from .tasks import perform

        perform(run_id)
    return kind
