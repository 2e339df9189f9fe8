import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

pytest_plugins = ["tests.backends"]  # store_url, sqlite_template, pg_schema: every store backend
