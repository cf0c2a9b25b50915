"""Kernel latency with StatusBadges polling: the time to run a trivial cell in
a real IPython kernel with 0 badges (baseline) and with 50 badges following
tasks, as medians and their ratio.

    python benchmarks/kernel_latency.py [--badges 50] [--cells 40]

The 50 tasks wait in a queue no worker serves, so every badge keeps polling
at its steady interval for the whole measurement.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from jupyter_client.manager import start_new_kernel

from tc_notebook.sandbox import Sandbox

SETUP = """
import slugid
from tc_notebook import connect
from tc_notebook.tutorial import tutorial_task
from tc_notebook.widgets import StatusBadge
conn = connect()
badges = []
for _ in range({badges}):
    task_id = slugid.nice()
    conn.queue.createTask(task_id, tutorial_task("bench/idle"))
    badges.append(StatusBadge(conn, task_id))
    badges[-1].watch()  # what displaying it does
"""


def cell_seconds(client, code: str) -> float:
    """Wall time from execute request to its reply."""
    started = time.perf_counter()
    reply = client.execute(code, reply=True, timeout=60)
    elapsed = time.perf_counter() - started
    assert reply["content"]["status"] == "ok", reply["content"]
    return elapsed


def measure(client, cells: int) -> float:
    """Median seconds of `cells` trivial cells."""
    return statistics.median(cell_seconds(client, "1 + 1") for _ in range(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--badges", type=int, default=50)
    parser.add_argument("--cells", type=int, default=40)
    args = parser.parse_args()
    with Sandbox(task_queues=["bench/busy"]) as sandbox:
        os.environ.update(
            TASKCLUSTER_ROOT_URL=sandbox.root_url,
            TASKCLUSTER_CLIENT_ID=sandbox.credentials["clientId"],
            TASKCLUSTER_ACCESS_TOKEN=sandbox.credentials["accessToken"],
        )
        manager, client = start_new_kernel(kernel_name="python3")
        try:
            cell_seconds(client, "import tc_notebook.widgets")  # warm imports
            baseline = measure(client, args.cells)
            cell_seconds(client, SETUP.format(badges=args.badges))
            early = measure(client, args.cells)  # badges still in their quick phase
            time.sleep(5)  # let every badge reach its steady interval
            steady = measure(client, args.cells)
            still_polling = client.execute(
                "", reply=True, user_expressions={"n": "sum(b.polling for b in badges)"}
            )["content"]["user_expressions"]["n"]["data"]["text/plain"]
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
    rows = [
        ("0 badges (baseline)", baseline),
        (f"{args.badges} badges, first seconds", early),
        (f"{args.badges} badges, steady", steady),
    ]
    print(f"badges still polling at the end: {still_polling} of {args.badges}")
    print(f"{'kernel state':<28} {'median cell (ms)':>17} {'ratio':>7}")
    for label, seconds in rows:
        print(f"{label:<28} {seconds * 1000:>17.2f} {seconds / baseline:>7.2f}")


if __name__ == "__main__":
    main()
