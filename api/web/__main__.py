"""Set a person's password for the pages: ``python -m api.web passwd USER [--db URL]``.

The person must already be in the directory (``caseclock user add`` / ``caseclock user load``).
The password is read without echo (or from ``$CASECLOCK_PASSWORD`` for scripts) and stored as a
scrypt hash in the ``people`` table. The database is ``--db``, else ``$CASECLOCK_DB``, else the
SQLite file ``caseclock.db`` in the working folder.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.web", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    pw = sub.add_parser("passwd", help="set a person's password")
    pw.add_argument("user")
    pw.add_argument("--db", default=None)
    args = parser.parse_args(argv)

    from adapters import build_engine

    from .accounts import accounts_for, set_password

    db = args.db or os.environ.get("CASECLOCK_DB") or "caseclock.db"
    url = db if "://" in db else f"sqlite:///{db}"
    password = os.environ.get("CASECLOCK_PASSWORD")
    if not password:
        password = getpass.getpass(f"new password for {args.user}: ")
        if password != getpass.getpass("again: "):
            print("the two passwords differ", file=sys.stderr)
            return 1
    if len(password) < 10:
        print("a password has at least 10 characters", file=sys.stderr)
        return 1
    engine = build_engine(url)
    try:
        set_password(accounts_for(engine), args.user, password)
    except KeyError as exc:
        print(f"{exc.args[0]}: add the person first (caseclock user add)", file=sys.stderr)
        return 1
    print(f"password set for {args.user}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
