"""The operator's master dashboard (issue 14): daily snapshots in the public schema, the
figures read from them, live health checks, the CSV exports and the operator's actions on
one organization.

    activity    agents' and visitors' activity, recorded where they act (chat's message send)
    snapshots   beat (and on demand): one row per organization and day, one per day for the platform
    figures     the dashboard's numbers for a period, from the snapshot tables only
    health      what is reachable and waiting right now
    charts      inline SVG (machine coordinates, never locale-formatted)
    exports     every table of the dashboard as CSV
    services    the per-organization admin actions (audited with the operator's name)
"""
