"""The decision service: what to show a member at a touchpoint, durably logged.

``tenure serve`` runs :func:`tenure.serve.app.create_app` under uvicorn. The pieces, each
a module of one concept: ``models`` (the wire format), ``auth`` (API keys and scopes),
``limits`` (body size), ``decider`` (the pure decision), ``commit`` (group commit),
``stores`` (the log: DuckDB, SQLite, PostgreSQL), ``recent`` (frequency-cap cache),
``policy_slot`` (hot-swapped policies), ``service`` (lifecycle), ``server`` (uvicorn and
SIGTERM), ``replay`` (the demo's replay of sign-ups, views and cancel attempts).

Importing ``tenure`` does not import this package (FastAPI stays optional).
"""
