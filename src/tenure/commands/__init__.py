"""CLI commands, one module per area; each exposes `register(app)`.

Modules import their heavy dependencies inside the command functions so `tenure --help`
stays fast.
"""
