"""The HTTP routes, one module per area (cases; the office: SLA, reports, definitions, calendar)."""
