from django.core.cache import cache
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from mysite.version import VERSION

from .models import Note, TaskRun, Upload
from .queue import QueueUnavailable, backend, enqueue


@never_cache
def healthz(request):
    """200 when this process can serve; nginx and the load balancer poll it."""
    return HttpResponse("ok", content_type="text/plain")


def home(request):
    return render(request, "notes/home.html", {"version": VERSION})


def db_page(request):
    notes = list(Note.objects.all())
    if request.GET.get("format") == "json":
        return JsonResponse({"count": len(notes), "titles": [n.title for n in notes]})
    return render(request, "notes/db.html", {"notes": notes})


def cache_page(request):
    """A visit counter in the cache. With Redis down django-redis ignores the
    error (IGNORE_EXCEPTIONS): the page still answers, without a count."""
    try:
        cache.add("visits", 0)
        visits = cache.incr("visits")
    except ValueError:  # the key vanished (Redis down or flushed): a miss
        visits = None
    if request.GET.get("format") == "json":
        return JsonResponse({"visits": visits})
    return render(request, "notes/cache.html", {"visits": visits})


@require_http_methods(["GET", "POST"])
def tasks_page(request):
    if request.method == "POST":
        number = int(request.POST.get("number") or 1000)
        run = TaskRun.objects.create(number=min(max(number, 0), 10_000_000))
        try:
            kind = enqueue(run.pk)
        except QueueUnavailable:
            run.delete()
            return JsonResponse({"error": "the task queue is unavailable, try again"}, status=503)
        if request.headers.get("Accept") == "application/json":
            return JsonResponse({"id": run.pk, "backend": kind})
        return redirect("task-result", run_id=run.pk)
    return render(request, "notes/tasks.html", {"runs": TaskRun.objects.all()[:10], "backend": backend()})


@never_cache
def task_result(request, run_id):
    try:
        run = TaskRun.objects.get(pk=run_id)
    except TaskRun.DoesNotExist:
        raise Http404("no such task")
    if request.GET.get("format") == "json":
        return JsonResponse({"id": run.pk, "state": run.state, "result": run.result, "worker": run.worker})
    return render(request, "notes/task.html", {"run": run})


@require_http_methods(["GET", "POST"])
def upload_page(request):
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            return JsonResponse({"error": "no file"}, status=400)
        stored = Upload.objects.create(file=upload)
        if request.headers.get("Accept") == "application/json":
            return JsonResponse({"id": stored.pk, "url": stored.file.url, "size": stored.file.size})
        return redirect("upload")
    return render(request, "notes/upload.html", {"uploads": Upload.objects.all()[:10]})
