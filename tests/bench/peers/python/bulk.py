"""Bulk ingestion with elasticsearch-py's helpers, for `cargo xtask bench`.

    python bulk.py --url URL --index I --file F.ndjson --helper parallel_bulk|streaming_bulk [--docs N]

Streams the first N lines of F (one JSON document per line) as index actions with ids
"0-<line>", through the helper with its default settings, and prints docs/s, CPU
seconds and peak RSS as one JSON line.
"""

import argparse
import collections
import json
import resource
import sys
import time

import elasticsearch
from elasticsearch import Elasticsearch, helpers


def actions(path, index, docs):
    with open(path, "rb") as f:
        for i, line in enumerate(f):
            if i >= docs:
                break
            line = line.strip()
            if not line:
                continue
            yield {"_index": index, "_id": f"0-{i}", "_source": json.loads(line)}


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_kib():
    """This process's peak resident set size (VmHWM), in KiB. Not ru_maxrss: Linux
    carries that over an exec from the process that forked this one."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--index", required=True)
    parser.add_argument("--file", required=True)
    parser.add_argument("--helper", required=True, choices=["parallel_bulk", "streaming_bulk"])
    parser.add_argument("--docs", type=int, default=sys.maxsize)
    args = parser.parse_args()

    client = Elasticsearch(args.url, request_timeout=120)
    cpu_start = cpu_seconds()
    started = time.perf_counter()
    ok = failed = sent = 0
    if args.helper == "parallel_bulk":
        results = helpers.parallel_bulk(
            client, actions(args.file, args.index, args.docs), raise_on_error=False
        )
    else:
        results = helpers.streaming_bulk(
            client, actions(args.file, args.index, args.docs), raise_on_error=False
        )
    for success, _item in results:
        sent += 1
        if success:
            ok += 1
        else:
            failed += 1
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_start
    print(
        json.dumps(
            {
                "contender": args.helper,
                "version": elasticsearch.__versionstr__,
                "docs": sent,
                "successes": ok,
                "failures": failed,
                "seconds": elapsed,
                "docs_per_second": sent / elapsed if elapsed > 0 else 0,
                "cpu_seconds": cpu,
                "peak_rss_kib": peak_rss_kib(),
            }
        )
    )


if __name__ == "__main__":
    main()
