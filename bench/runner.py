"""Runs every benchmark module on one database (a child process of `python -m bench`)."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = "@@BENCH-RESULTS@@"
POSTGRES_DEFAULT = "postgres://postgres@127.0.0.1:5432/qingquan_bench"


def configure(database: str) -> None:
    """Point the settings at this run's own database (never the platform's data)."""
    if database == "sqlite":
        os.environ.pop("DATABASE_URL", None)
        os.environ["QINGQUAN_DATA_DIR"] = str(_data_root() / "bench-sqlite")
    else:
        url = os.environ.get("QINGQUAN_BENCH_POSTGRES_URL", POSTGRES_DEFAULT)
        _ensure_postgres_database(url)
        os.environ["DATABASE_URL"] = url
        os.environ["QINGQUAN_DATA_DIR"] = str(_data_root() / "bench-postgres")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qingquan.settings")


def _data_root() -> Path:
    """QINGQUAN_BENCH_DATA_DIR lets two runs keep separate SQLite data (with a separate
    QINGQUAN_BENCH_POSTGRES_URL for PostgreSQL)."""
    return Path(os.environ.get("QINGQUAN_BENCH_DATA_DIR", str(ROOT / "var")))


def _ensure_postgres_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def modules(selected: str | None) -> list[str]:
    import bench

    names = sorted(
        info.name for info in pkgutil.iter_modules(bench.__path__) if info.name.startswith("bench_")
    )
    return [n for n in names if not selected or selected in n]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("-k", dest="select", default=None)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--first", action="store_true", help="this is the run's first database pass"
    )
    args = parser.parse_args()

    configure(args.database)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)

    from bench.context import BenchContext
    from bench.harness import (
        Comparison,
        Figure,
        Measurement,
        record_figure,
        record_measurement,
        run_comparison,
    )

    ctx = BenchContext(
        database=args.database,
        scale=args.scale,
        duration=args.duration,
        rounds=args.rounds,
        connections=args.connections,
    )
    results = []
    try:
        for name in modules(args.select):
            module = importlib.import_module(f"bench.{name}")
            if getattr(module, "ONCE", False) and not args.first:
                # It sets up its own databases (both kinds): one pass of the run is enough.
                continue
            print(f"[{args.database}] {name} …", file=sys.stderr, flush=True)
            try:
                for case in module.cases(ctx):
                    if isinstance(case, Comparison):
                        result = run_comparison(case, scale=args.scale)
                    elif isinstance(case, Measurement):
                        result = record_measurement(case)
                    elif isinstance(case, Figure):
                        result = record_figure(case)
                    else:
                        raise TypeError(f"{name}.cases() returned {case!r}")
                    data = result.as_json()
                    data["database"] = args.database
                    data["module"] = name
                    results.append(data)
            except Exception:
                traceback.print_exc()
                results.append(
                    {
                        "database": args.database,
                        "module": name,
                        "name": f"{name} (failed)",
                        "kind": "error",
                        "baseline_median_ms": None,
                        "subject_median_ms": None,
                        "ratio": None,
                        "target": "",
                        "ok": False,
                        "note": traceback.format_exc(limit=3),
                    }
                )
    finally:
        ctx.close()
    print(MARKER + json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
