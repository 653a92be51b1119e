"""`python -m bench` (or `bin/bench`): run every benchmark on SQLite and PostgreSQL and print
medians with ratios against baselines measured in the same run.

Options: --database sqlite|postgres (default both), --scale 0.1 for a quick run,
-k NAME to run the modules whose name contains NAME; for the peer benchmark (bench_peer)
--duration SECONDS per system per round, --rounds N and --connections N.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import subprocess
import sys
from pathlib import Path

from bench.harness import format_table
from bench.runner import MARKER

ROOT = Path(__file__).resolve().parent.parent


def run_database(
    database: str, scale: float, select: str | None, extra: list[str]
) -> list[dict[str, object]]:
    command = [sys.executable, "-m", "bench.runner", "--database", database, "--scale", str(scale)]
    if select:
        command += ["-k", select]
    command += extra
    completed = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
    for line in completed.stdout.splitlines():
        if line.startswith(MARKER):
            return list(json.loads(line[len(MARKER) :]))
    raise SystemExit(f"benchmarks on {database} produced no results (exit {completed.returncode})")


def main() -> None:
    parser = argparse.ArgumentParser(prog="bin/bench")
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--scale", type=float, default=1.0, help="iterations and data size")
    parser.add_argument("-k", dest="select", default=None, help="only modules matching NAME")
    parser.add_argument(
        "--duration", type=float, default=30.0, help="seconds per system per round (peer)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (peer)")
    parser.add_argument("--connections", type=int, default=16, help="load connections (peer)")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "latest.json"))
    args = parser.parse_args()

    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    results: list[dict[str, object]] = []
    options = [
        f"--duration={args.duration}",
        f"--rounds={args.rounds}",
        f"--connections={args.connections}",
    ]
    for i, database in enumerate(databases):
        first = ["--first"] if i == 0 else []
        results += run_database(database, args.scale, args.select, options + first)

    print()
    print(format_table(results))
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(
        json.dumps(
            {
                "at": dt.datetime.now(dt.UTC).isoformat(),
                "machine": {"python": platform.python_version(), "platform": platform.platform()},
                "scale": args.scale,
                "results": results,
            },
            ensure_ascii=False,
            indent=2,
        )
    )
    print(f"\nresults written to {output}")
    if any(r.get("kind") == "error" for r in results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
