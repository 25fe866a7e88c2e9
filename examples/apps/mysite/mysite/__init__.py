# The Celery app, so that @shared_task binds to it (and to the broker in
# settings) in web processes too. A box running RQ has no Celery installed.
try:
    from .celery import app as celery_app
except ImportError:  # pragma: no cover - RQ or no worker
    celery_app = None

__all__ = ["celery_app"]
