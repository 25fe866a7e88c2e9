"""A bounded load loop for the fault tests, run on the lan side of the harness.

    load.py --url http://10.213.7.10 --host mysite.test --path / --path /db \
            --threads 4 --max-requests 20000 --max-seconds 60 --stop-file /tmp/x \
            --progress-file /tmp/x.progress

Each thread keeps one HTTP/1.1 connection to nginx (reconnecting after an
error) and cycles through the paths. It stops at the first of: max requests,
max seconds, or the stop file appearing. Prints one JSON object: totals,
every failure (time since start, path, status or error) and the longest run
of successes at the end, and the start times of the first and last failure
(the list of failures is cut at 200; those two are over all of them). A request fails on any status but 200 and on any
connection error or timeout. Timings are reported, never judged: the test
asserts counts. With --progress-file, the counts so far (total, ok, failed and
the current run of successes, in completion order) are written there, replaced
atomically, after every request: a test waits for the load state it needs
("20 successes since the fault") instead of sleeping.
"""
import argparse
import http.client
import json
import os
import ssl
import threading
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--path", action="append", required=True)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--max-requests", type=int, default=20000)
    parser.add_argument("--max-seconds", type=float, default=60)
    parser.add_argument("--stop-file")
    parser.add_argument("--progress-file")
    parser.add_argument("--cafile")
    parser.add_argument("--timeout", type=float, default=10)
    args = parser.parse_args()

    scheme, _, address = args.url.partition("://")
    start = time.monotonic()
    lock = threading.Lock()
    state = {"total": 0, "ok": 0, "streak": 0, "stop": False}
    results = []  # (t, ok) in completion order
    failures = []
    statuses = {}

    def connect():
        if scheme == "https":
            context = ssl.create_default_context(cafile=args.cafile)
            return _https(address, args.host, context, args.timeout)
        return http.client.HTTPConnection(address, timeout=args.timeout)

    def should_stop():
        if state["stop"]:
            return True
        if state["total"] >= args.max_requests or time.monotonic() - start >= args.max_seconds:
            state["stop"] = True
        elif args.stop_file and os.path.exists(args.stop_file):
            state["stop"] = True
        return state["stop"]

    def worker(index):
        conn = None
        i = index
        while True:
            with lock:
                if should_stop():
                    break
                state["total"] += 1
            path = args.path[i % len(args.path)]
            i += 1
            t = time.monotonic() - start
            try:
                if conn is None:
                    conn = connect()
                conn.request("GET", path, headers={"Host": args.host, "Accept-Encoding": "gzip"})
                response = conn.getresponse()
                response.read()
                status = response.status
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
                error = None
            except Exception as exc:  # noqa: BLE001 - every error is a failed request
                status = None
                error = "%s: %s" % (type(exc).__name__, exc)
                if conn is not None:
                    conn.close()
                conn = None
            with lock:
                key = str(status) if status is not None else "error"
                statuses[key] = statuses.get(key, 0) + 1
                good = status == 200
                results.append((t, good))
                if good:
                    state["ok"] += 1
                    state["streak"] += 1
                else:
                    state["streak"] = 0
                    failures.append({"t": round(t, 3), "path": path, "status": status, "error": error})
                if args.progress_file:
                    _write_progress(args.progress_file, {
                        "total": len(results), "ok": state["ok"], "failed": len(failures), "streak": state["streak"]})
            if not good:
                time.sleep(0.05)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    results.sort()
    tail = 0
    for _, good in reversed(results):
        if not good:
            break
        tail += 1
    print(json.dumps({
        "total": state["total"],
        "ok": state["ok"],
        "failed": len(failures),
        "statuses": statuses,
        "failures": failures[:200],
        "failureWindow": {"first": min(f["t"] for f in failures), "last": max(f["t"] for f in failures)} if failures else None,
        "successTail": tail,
        "seconds": round(time.monotonic() - start, 3),
    }))


def _write_progress(path, counts):
    """Replaces the progress file atomically (a reader never sees half of it)."""
    partial = path + ".partial"
    with open(partial, "w") as handle:
        json.dump(counts, handle)
    os.replace(partial, path)


def _https(address, host, context, timeout):
    """An HTTPS connection to an address, with SNI and verification for `host`."""
    hostname, _, port = address.partition(":")

    class Connection(http.client.HTTPSConnection):
        def connect(self):
            http.client.HTTPConnection.connect(self)
            self.sock = context.wrap_socket(self.sock, server_hostname=host)

    return Connection(hostname, int(port or 443), timeout=timeout, context=context)


if __name__ == "__main__":
    main()
