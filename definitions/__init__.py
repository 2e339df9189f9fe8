"""The definitions caseclock ships (one YAML file per item or case type).

Installed as the ``caseclock_definitions`` package so that a plain ``pip install`` can load them.
"""
