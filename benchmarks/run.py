"""Every speed measure of the kit in one run, each as a ratio to a baseline
taken in the same run, printed as a Markdown table.

    .venv/bin/python benchmarks/run.py [--quick] [--only NAME ...]

The kit measured is the one Python imports: `PYTHONPATH=<a checkout>` measures
that checkout (the sandboxes it starts run from it too). Every sandbox runs in
a child process on loopback, in a temporary folder removed at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import artifact_list
import badge_latency
import directory_artifact
import downloads
import hawk_rate
import pending_load
import task_latency
import throughput
import uploads
from common import Options, Row

import tc_notebook

MEASURES: dict[str, Callable[[Options], list[Row]]] = {
    "throughput": throughput.measure,
    "task_latency": task_latency.measure,
    "badge_latency": badge_latency.measure,
    "downloads": downloads.measure,
    "uploads": uploads.measure,
    "directory_artifact": directory_artifact.measure,
    "artifact_list": artifact_list.measure,
    "pending_load": pending_load.measure,
    "hawk_rate": hawk_rate.measure,
}


def table(rows: list[Row]) -> str:
    """The Markdown table of the rows."""
    lines = [
        "| measure | baseline | tc-notebook | ratio | goal | met? |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        ratio = "–" if row.ratio is None else f"{row.ratio:.2f}×"
        met = {True: "yes", False: "**no**", None: "–"}[row.met]
        lines.append(
            f"| {row.measure} | {row.baseline} | {row.value} | {ratio} | {row.goal} | {met} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen measures (all by default) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller loads")
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(MEASURES),
        metavar="NAME",
        help=f"run only this measure (repeatable): {', '.join(MEASURES)}",
    )
    args = parser.parse_args(argv)
    options = Options(quick=args.quick)
    chosen = args.only or list(MEASURES)
    print(f"tc_notebook from {Path(tc_notebook.__file__).parent}", flush=True)
    # Child processes (`python -m tc_notebook ...`) put their working folder
    # first on sys.path: run them from an empty one, so they import the same kit.
    home = tempfile.mkdtemp(prefix="tc-bench-run-")
    os.chdir(home)
    rows: list[Row] = []
    failed = False
    began = time.monotonic()
    try:
        with options.stack:  # the fixtures measures share, closed at the end
            for name in chosen:
                started = time.monotonic()
                try:
                    found = MEASURES[name](options)
                except Exception as failure:  # one broken measure must not hide the others
                    failed = True
                    found = [Row(name, "–", f"failed: {failure!r}"[:300], None, "–", False)]
                rows.extend(found)
                print(f"{name}: {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    finally:
        os.chdir("/")
        os.rmdir(home)
    print()
    print(table(rows))
    print()
    for row in rows:
        if row.note:
            print(f"- {row.measure}: {row.note}")
    print(f"\ntotal {time.monotonic() - began:.0f} s{' (quick)' if args.quick else ''}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
