"""Set a person's password for the pages: ``python -m api.web passwd USER [--db URL]``.

Kept for scripts written before ``caseclock passwd USER``: it runs that very command (the person
must be in the directory; the password is asked twice without echo, or read from
``$CASECLOCK_PASSWORD``; the database is ``--db``, else ``$CASECLOCK_DB``, else ``caseclock.db``
in the working folder).
"""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.web", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    pw = sub.add_parser("passwd", help="set a person's password (the same as: caseclock passwd USER)")
    pw.add_argument("user")
    pw.add_argument("--db", default=None)
    args = parser.parse_args(argv)

    from api.cli import app

    forwarded = ["passwd", args.user, *(["--db", args.db] if args.db else [])]
    code = app(args=forwarded, prog_name="caseclock", standalone_mode=False)
    return int(code or 0)


if __name__ == "__main__":
    raise SystemExit(main())
