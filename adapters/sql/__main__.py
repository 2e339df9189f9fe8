"""``python -m adapters.sql upgrade --db URL`` and ``verify --db URL [--case ID]``
(until ``caseclock db …`` takes them over; the CLI calls the same functions)."""

from __future__ import annotations

import argparse
import os
import sys

from workflow.errors import WorkflowError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m adapters.sql", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    db_help = "database URL (default: $CASECLOCK_DB), e.g. sqlite:///caseclock.db"
    up = sub.add_parser("upgrade", help="create or migrate the database to the newest schema")
    up.add_argument("--db", default=os.environ.get("CASECLOCK_DB"), help=db_help)
    ver = sub.add_parser("verify", help="check every case's hash chain; exit 1 on a broken link")
    ver.add_argument("--db", default=os.environ.get("CASECLOCK_DB"), help=db_help)
    ver.add_argument("--case", default=None, help="one case id")
    args = parser.parse_args(argv)
    if not args.db:
        parser.error("--db URL is required (or set CASECLOCK_DB)")
    try:
        if args.command == "upgrade":
            from .migrate import upgrade

            print(f"schema at revision {upgrade(args.db)}")
            return 0
        from .verify import verify_history

        broken = verify_history(args.db, args.case)
        for link in broken:
            print(f"BROKEN {link}")
        if not broken:
            print("history intact")
        return 1 if broken else 0
    except WorkflowError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
