"""`tenure serve`: the decision service for the product's touchpoints."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tenure.commands._console import (
    AS_OF_OPTION,
    DATA_OPTION,
    MAP_OPTION,
    err_console,
    friendly_errors,
    open_dataset,
)

if TYPE_CHECKING:
    from fastapi import FastAPI


@dataclass(frozen=True)
class ServeOptions:
    """What ``tenure serve`` builds a service from: its options, less host, port, workers.

    One value is passed from the command to the worker supervisor and to
    :func:`build_app`, so an option is declared once more here, not once per call site.
    """

    data: str
    log: str = "tenure-decisions.sqlite"
    catalogue: Path | None = None
    policy: Path | None = None
    api_keys: Path | None = None
    as_of: datetime | None = None
    mapping: str | None = None
    clock: str = "wall"
    max_body: int = 1 << 20
    seed: int | None = None
    max_batch: int = 512


def register(app: typer.Typer) -> None:
    """Add the `serve` and `export-decisions` commands to `app`."""
    app.command("serve")(serve)
    app.command("export-decisions")(export_decisions)


def export_decisions(
    log: Annotated[
        str, typer.Option("--log", help="The decision log: a .sqlite/.duckdb file or a URL.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for exposures/outcomes.parquet.")],
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace existing files in --out.")
    ] = False,
) -> None:
    """Write the decision log as the data contract's exposures (and its outcomes) in Parquet."""
    from tenure.serve.export import export_log

    with friendly_errors():
        exposures, outcomes = export_log(log, out, overwrite=overwrite)
    err_console.print(f"wrote {exposures} and {outcomes}", highlight=False)


def serve(
    data: Annotated[str, DATA_OPTION],
    catalogue: Annotated[
        Path | None,
        typer.Option(
            "--catalogue", help="Catalogue YAML (default: DATA/catalogue.yaml, else built-in)."
        ),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy", help="Policy snapshot, watched and hot-swapped (default: uniform)."
        ),
    ] = None,
    log: Annotated[
        str,
        typer.Option(
            "--log", help="Decision log: a .sqlite or .duckdb file, or a postgresql:// URL."
        ),
    ] = "tenure-decisions.sqlite",
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port (0 picks a free one).")] = 8000,
    api_keys: Annotated[
        Path | None,
        typer.Option("--api-keys", help="File of 'KEY SCOPE' lines (else $TENURE_API_KEYS)."),
    ] = None,
    as_of: Annotated[datetime | None, AS_OF_OPTION] = None,
    mapping: Annotated[str | None, MAP_OPTION] = None,
    clock: Annotated[
        str,
        typer.Option("--clock", help="'wall' (now), or 'data': time starts at the data's as_of."),
    ] = "wall",
    max_body: Annotated[
        int, typer.Option("--max-body", help="Largest request body in bytes (413 above).")
    ] = 1 << 20,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed of the policy's random draws.")
    ] = None,
    max_batch: Annotated[
        int,
        typer.Option("--max-batch", help="Most rows per group commit (1: a commit per request)."),
    ] = 512,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            help="Server processes sharing the port (SO_REUSEPORT) and one .sqlite log.",
        ),
    ] = 1,
) -> None:
    """Serve decisions (POST /v1/decide), outcomes and value recaps over HTTP.

    Every decision is committed to the log before it is answered. SIGTERM drains in-flight
    requests and exits 0. With ``--workers N`` (N > 1) N processes share the port and one
    SQLite log; see :mod:`tenure.serve.workers` for what they share and how.
    """
    from tenure.errors import SpecError
    from tenure.serve.server import bind, run

    with friendly_errors():
        if clock not in ("wall", "data"):
            raise SpecError(f"--clock must be 'wall' or 'data', got {clock!r}")
        if max_batch < 1:
            raise SpecError(f"--max-batch must be at least 1, got {max_batch}")
        if max_body < 1:
            raise SpecError(f"--max-body must be a positive number of bytes, got {max_body}")
        if workers < 1:
            raise SpecError(f"--workers must be at least 1, got {workers}")
    options = ServeOptions(
        data=data,
        log=log,
        catalogue=catalogue,
        policy=policy,
        api_keys=api_keys,
        as_of=as_of,
        mapping=mapping,
        clock=clock,
        max_body=max_body,
        seed=seed,
        max_batch=max_batch,
    )
    if workers > 1:
        _serve_workers(options, workers, host, port)
        return
    with friendly_errors():
        app = build_app(options)
        try:
            sock = bind(host, port)
        except OSError as exc:
            raise SpecError(f"--host {host} --port {port}: cannot listen ({exc.strerror})") from exc

    def ready(url: str) -> None:
        err_console.print(f"tenure serve: listening on {url} (log {log_display})", highlight=False)

    log_display = app.state.service.log_location
    run(app, sock, on_ready=ready)


def _serve_workers(options: ServeOptions, workers: int, host: str, port: int) -> None:
    """Supervise ``workers`` forked servers; exit with their status (0 after a drain)."""
    import socket

    from tenure.errors import SpecError
    from tenure.serve.auth import ApiKeys
    from tenure.serve.server import run
    from tenure.serve.service import wall_clock
    from tenure.serve.stores import open_log
    from tenure.serve.workers import supervise

    started = wall_clock()  # every worker's --clock data reads the same time
    with friendly_errors():
        # What can be wrong before forking is reported once, as one line.
        ApiKeys.load(options.api_keys)
        open_log(options.log, shared=True).close()  # creates the log, or refuses a foreign file

    def work(index: int, sock: socket.socket, ready: Callable[[], None]) -> int:
        try:
            with friendly_errors():
                # Each worker draws its own stream: a shared seed would repeat the draws.
                seed = None if options.seed is None else options.seed + index
                mine = dataclasses.replace(options, seed=seed)
                app = build_app(mine, shared=True, started=started)
        except typer.Exit as exc:
            return int(exc.exit_code)
        run(app, sock, on_ready=lambda _url: ready())
        return 0

    def announce(url: str, n: int) -> None:
        err_console.print(
            f"tenure serve: listening on {url} (log sqlite:{options.log}, {n} workers)",
            highlight=False,
            soft_wrap=True,
        )

    try:
        status = supervise(workers, host, port, work, on_ready=announce)
    except OSError as exc:
        with friendly_errors():
            raise SpecError(f"--host {host} --port {port}: cannot listen ({exc.strerror})") from exc
        return
    if status:
        raise typer.Exit(status)


def build_app(
    options: ServeOptions, *, shared: bool = False, started: datetime | None = None
) -> FastAPI:
    """The service's app, with its log already open (a bad ``--log`` fails here).

    ``shared``: one of several workers on one SQLite log; ``started``: the time every
    worker's ``--clock data`` reads as the data's ``as_of`` (default: now).
    """
    from tenure.messaging import Catalogue, MemberIndex, UniformPolicy, load_policy
    from tenure.serve.app import create_app
    from tenure.serve.auth import ApiKeys
    from tenure.serve.service import Service, data_clock, wall_clock

    o = options
    keys = ApiKeys.load(o.api_keys)
    dataset = open_dataset(o.data, as_of=o.as_of, mapping=o.mapping)
    catalogue_path = o.catalogue
    if catalogue_path is None and Path(o.data, "catalogue.yaml").is_file():
        catalogue_path = Path(o.data, "catalogue.yaml")
    cat = Catalogue.load(catalogue_path) if catalogue_path is not None else Catalogue.default()
    members = MemberIndex.from_dataset(dataset, catalogue=cat)
    pol = load_policy(o.policy) if o.policy is not None else UniformPolicy(cat)
    service = Service(
        cat,
        members,
        pol,
        o.log,
        keys,
        clock=data_clock(dataset.as_of, started=started) if o.clock == "data" else wall_clock,
        seed=o.seed,
        max_body=o.max_body,
        watch_policy=o.policy,
        max_batch=o.max_batch,
        shared=shared,
    )
    service.committer.start()  # a bad --log is a one-line error here, before the server
    return create_app(service)
