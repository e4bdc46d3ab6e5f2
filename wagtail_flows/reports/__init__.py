"""Reports: the queries (``queries``), server-side SVG charts (``charts``) and the report,
summary, export and tester views (``views``).
"""
