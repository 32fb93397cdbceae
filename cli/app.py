"""The ``handoff`` command line (the contract in DESIGN.md).

Prefect is imported only inside the commands that run flows, after the Prefect
environment for the chosen configuration has been exported.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hmis_handoff.errors import HandoffError

if TYPE_CHECKING:
    from hmis_handoff.config import Settings

__all__ = [
    "ConfigOption",
    "JsonOption",
    "app",
    "confirm",
    "confirmations",
    "deadlines",
    "decrypt",
    "encrypt",
    "init",
    "keygen",
    "main",
    "process",
    "sftp_gateway",
    "status",
    "template",
    "up",
]

app = typer.Typer(
    add_completion=False,
    # A traceback's local variables may hold cell values: never print them.
    pretty_exceptions_show_locals=False,
    no_args_is_help=True,
    # Docstrings are wrapped at 100 columns in the source: markdown reflows their paragraphs.
    rich_markup_mode="markdown",
    help="HMIS Handoff: Coordinated Entry intakes from non-HMIS agencies to their data partner.",
    epilog=(
        "Try it: `handoff init var --demo`, then `handoff up --config var/handoff.toml` (the"
        " Prefect UI is at http://127.0.0.1:4200), or `handoff process --config"
        " var/handoff.toml` for one sweep. `handoff COMMAND --help` for each command."
    ),
)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="handoff.toml (default: ./handoff.toml or $HANDOFF_CONFIG)"
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="print machine-readable JSON")]


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def _emit_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=str))


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="data root to create")],
    demo: Annotated[
        bool, typer.Option("--demo", help="add a demo agency, partner and sample")
    ] = False,
    port: Annotated[int, typer.Option(help="port for the embedded Prefect server")] = 4200,
) -> None:
    """Create a data root with handoff.toml, the CoC signing key and the archive key."""
    from usecases.initialise import initialise

    try:
        report = initialise(directory, demo=demo, port=port)
    except HandoffError as exc:
        raise _fail(str(exc)) from None
    for line in report:
        typer.echo(line)


def _assert_hardened(settings: Settings) -> None:
    """Refuse to start unless Prefect's leak surfaces are closed (flows/hardening.py)."""
    from flows.hardening import assert_prefect_hardened

    try:
        assert_prefect_hardened(settings, server=True)
    except HandoffError as exc:
        raise _fail(str(exc)) from None


@app.command()
def up(config: ConfigOption = None) -> None:
    """Run the embedded stack: Prefect server + UI, the deployments, the drop-folder watcher."""
    settings = _settings(config)
    _lifeline()
    from hmis_handoff import prefect_env

    prefect_env.apply(settings, with_api_url=True)
    _assert_hardened(settings)
    from flows.stack import run_stack

    raise typer.Exit(run_stack(settings))


@app.command()
def process(
    config: ConfigOption = None,
    as_json: JsonOption = False,
    with_prefect: Annotated[
        bool,
        typer.Option(
            "--prefect",
            help="record the run in Prefect even with no server running (starts a temporary one)",
        ),
    ] = False,
) -> None:
    """One sweep over all drop folders, then exit (0 = ran, whatever files were rejected).

    Runs as an ingest flow run on the `handoff up` server when its API answers. Without
    one, runs the same steps directly, in seconds: the ledger, the agency reports and the
    outbox record it, but no flow run, event or artifact appears in Prefect (use --prefect
    for that)."""
    settings = _settings(config)
    _lifeline()
    from hmis_handoff import prefect_env

    url = prefect_env.api_url(settings)
    reachable = _api_reachable(url) and _serves_this_root(url, settings)
    from flows.direct import can_run_direct, process_direct

    if not (reachable or with_prefect) and can_run_direct(settings):
        # No server to record the run: do the work without Prefect (flows/direct.py says
        # what is not recorded), not pay ~10 s for a temporary server.
        summary = process_direct(settings)
    else:
        prefect_env.apply(settings, with_api_url=reachable)
        _assert_hardened(settings)
        from flows.ingest import ingest

        summary = ingest()
    if as_json:
        _emit_json(summary)
        return
    states = ", ".join(f"{n} {s}" for s, n in sorted(summary["by_state"].items())) or "no files"
    typer.echo(f"{summary['files']} file(s): {states}; {summary['rows_sent']} row(s) sent")
    for outcome in summary["outcomes"]:
        typer.echo(
            f"  {outcome['file_ref']}  {outcome['agency_id']:<20} {outcome['state']:<10}"
            f" sent {outcome['rows_sent']:>5}  held {outcome['rows_held']:>5}"
            f"  {outcome['reject_rule'] or outcome['package_id'] or ''}"
        )


@app.command()
def keygen(
    out: Annotated[Path, typer.Argument(help="file to write the identity to (mode 0600)")],
) -> None:
    """Create an age X25519 identity (for a partner) and print its recipient."""
    from hmis_handoff.crypto.age import X25519Identity, write_identity_file

    if out.exists():
        raise _fail(f"{out} exists; refusing to overwrite a key")
    identity = X25519Identity.generate()
    write_identity_file(out, identity)
    typer.echo(f"Public key (give this to the CoC): {identity.recipient}")


@app.command()
def encrypt(
    source: Annotated[Path, typer.Argument(help="file to encrypt")],
    recipient: Annotated[list[str], typer.Option("-r", "--recipient", help="age1... (repeatable)")],
    out: Annotated[Path, typer.Option("-o", "--output", help="the .age file to write")],
) -> None:
    """Encrypt any file to age recipients (ad hoc; same format as packages)."""
    from hmis_handoff.crypto.age import encrypt_file, parse_recipient

    try:
        recipients = [parse_recipient(r) for r in recipient]
        stats = encrypt_file(source, out, recipients)
    except FileExistsError:
        raise _fail(f"cannot encrypt: {out} already exists; choose another output") from None
    except OSError as exc:
        raise _fail(f"cannot encrypt: {exc.strerror or type(exc).__name__}") from None
    except (HandoffError, ValueError) as exc:
        raise _fail(f"cannot encrypt: {exc}") from None
    typer.echo(f"wrote {out} ({stats.ciphertext_size} bytes, sha256 {stats.ciphertext_sha256})")


@app.command()
def decrypt(
    package: Annotated[
        Path, typer.Argument(help="the package's .age file (its manifest and .sig beside it)")
    ],
    identity: Annotated[Path, typer.Option("-i", "--identity", help="your age identity file")],
    out: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="the intake rows: .csv (UTF-8 BOM) or .xlsx (text)"),
    ] = None,
    worklist: Annotated[
        Path | None, typer.Option("--worklist", help="write the worklist CSV here")
    ] = None,
    hmis_csv: Annotated[
        Path | None, typer.Option("--hmis-csv", help="new folder for the HMIS CSV set (FY2026)")
    ] = None,
    confirmation_sheet: Annotated[
        Path | None,
        typer.Option("--confirmation-sheet", help="the prefilled confirmation sheet (.csv/.xlsx)"),
    ] = None,
    signer: Annotated[
        list[str] | None,
        typer.Option(
            "--signer", help="trusted CoC signing key: SHA256:... fingerprint, ed25519:..., or file"
        ),
    ] = None,
    known_signers: Annotated[
        Path | None,
        typer.Option("--known-signers", help="your known signers file (default: ~/.config/...)"),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Verify a package's signed manifest and hashes, decrypt it, show its worklist."""
    from hmis_handoff.partner import DecryptRequest, decrypt_package

    request = DecryptRequest(
        out=out, worklist=worklist, hmis_csv=hmis_csv, confirmation_sheet=confirmation_sheet
    )
    try:
        lines = decrypt_package(
            package,
            identity=identity,
            request=request,
            signers=signer,
            config=config,
            known_signers=known_signers,
        )
    except HandoffError as exc:
        raise _fail(f"NOT decrypted: {exc}") from None
    except FileExistsError:
        raise _fail(f"NOT decrypted: {out} already exists (or is a link); choose another") from None
    except OSError as exc:
        raise _fail(f"NOT decrypted: {exc.strerror or type(exc).__name__}") from None
    for line in lines:
        typer.echo(line)


@app.command()
def deadlines(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="YYYY-MM-DD (default: today, America/Chicago)")
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Pending, due-soon and overdue records (ids and dates only)."""
    from hmis_handoff.deadlines import deadline_report

    settings = _settings(config)
    try:
        when = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise _fail("--as-of must be a date like 2026-11-24") from None
    rows = deadline_report(settings, as_of=when)
    if as_json:
        _emit_json([row.as_dict() for row in rows])
        return
    if not rows:
        typer.echo("no records")
    for row in rows:
        typer.echo(
            f"{row.intake_id:<24} {row.agency:<16} {row.partner:<16} "
            f"intake {row.intake_date}  due {row.due}  {row.state}"
        )


@app.command()
def confirm(
    intake_id: Annotated[str, typer.Argument(help="the agency's IntakeID")],
    entered_on: Annotated[
        str,
        typer.Option(
            "--entered-on", help="when it was entered in HMIS: today, YYYY-MM-DD or MM/DD/YYYY"
        ),
    ],
    agency: Annotated[
        str | None, typer.Option("--agency", help="agency id (needed if ids collide)")
    ] = None,
    personal_id: Annotated[
        str | None, typer.Option("--personal-id", help="HMIS PersonalID (optional)")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Confirm one record was entered into HMIS (partners, or the CoC on their behalf)."""
    from usecases.confirm_entries import confirm_one

    settings = _settings(config)
    try:
        done = confirm_one(settings, agency, intake_id, entered_on, personal_id)
    except HandoffError as exc:
        raise _fail(f"not confirmed: {exc}") from None
    verb = "confirmed" if done.changed else "already confirmed"
    typer.echo(f"{verb}: {done.intake_id} ({done.agency_id}) entered {done.entered_on:%m/%d/%Y}")
    if done.changed:
        _emit_entered(settings, {(done.agency_id, done.partner_id): [done.intake_id]})


def _emit_entered(
    settings: Settings, entered: dict[tuple[str, str], list[str]], *, note_to_stderr: bool = False
) -> None:
    """The same ``handoff.record.entered`` events the confirmations flow emits (one per
    agency-partner pair)."""
    from hmis_handoff import prefect_env
    from hmis_handoff.deadlines import today_in

    if not _api_reachable(prefect_env.api_url(settings)):
        typer.echo(
            "note: Prefect is not running; no handoff.record.entered event was sent",
            err=note_to_stderr,
        )
        return
    prefect_env.apply(settings, with_api_url=True)
    from flows.events import emit_entered_and_flush

    for (agency_id, partner_id), intake_ids in sorted(entered.items()):
        emit_entered_and_flush(agency_id, partner_id, intake_ids, today_in(settings).isoformat())


@app.command()
def confirmations(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """One pass over every partner's confirmations folder (sheets and HMIS exports), then exit.

    What `handoff up`'s watcher does when a file lands there, for a host that does not run
    it: reports go to `confirmations/reports/`, handled files to `processed/`."""
    import time

    from connectors.inbox_folder import scan_inbox
    from hmis_handoff.layout import Layout
    from hmis_handoff.ledger import Ledger
    from usecases.partner_inbox import InboxOutcome, process_inbox

    settings = _settings(config)
    layout = Layout(settings.root)
    outcomes: dict[str, list[InboxOutcome]] = {p.id: [] for p in settings.partners}
    ledger = Ledger(settings.ledger_url)
    try:
        for attempt in range(2):
            for partner in settings.partners:
                outcomes[partner.id].append(process_inbox(settings, partner.id, ledger=ledger))
            waiting = any(
                scan_inbox(layout.partner_confirmations(p.id), settle_seconds=0)
                for p in settings.partners
            )
            if not waiting or attempt:
                break
            # Just dropped (still settling) or left by an error: one more pass after the
            # settle time, so "drop, then run this" works.
            time.sleep(settings.intake.stable_seconds + 0.5)
    except HandoffError as exc:
        raise _fail(f"confirmations not processed: {exc}") from None
    finally:
        ledger.close()
    entered: dict[tuple[str, str], list[str]] = {}
    summary: list[dict[str, Any]] = []
    for partner_id, passes in outcomes.items():
        items = [item for outcome in passes for item in outcome.items]
        for outcome in passes:
            for agency_id, ids in outcome.newly_entered().items():
                entered.setdefault((agency_id, partner_id), []).extend(ids)
        summary.append(
            {
                "partner": partner_id,
                "items": [
                    {"kind": i.kind, "ref": i.ref, "refused": i.rule_id, "report": i.report}
                    for i in items
                ],
                "newly_entered": sum(
                    len(ids) for (_, p), ids in entered.items() if p == partner_id
                ),
                "left_for_next_pass": passes[-1].errors,
            }
        )
    if as_json:
        _emit_json(summary)
    else:
        for row in summary:
            typer.echo(
                f"{row['partner']}: {len(row['items'])} item(s), "
                f"{row['newly_entered']} record(s) newly entered"
            )
            for item in row["items"]:
                verdict = f"refused {item['refused']}" if item["refused"] else "used"
                typer.echo(f"  {item['kind']:<12} {item['ref']}  {verdict:<28} {item['report']}")
    if entered:
        _emit_entered(settings, entered, note_to_stderr=as_json)


@app.command()
def status(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Ledger counts by state, per agency and partner."""
    from hmis_handoff.status import status_report

    report = status_report(_settings(config))
    if as_json:
        _emit_json(report)
        return
    typer.echo("files:")
    for row in report["files"]:
        typer.echo(
            f"  {row['agency']:<16} -> {row['partner']:<16} {row['state']:<10} {row['count']}"
        )
    typer.echo("records:")
    for row in report["records"]:
        typer.echo(
            f"  {row['agency']:<16} -> {row['partner']:<16} {row['state']:<18} {row['count']}"
        )


@app.command()
def template(
    out: Annotated[Path, typer.Argument(help="file to write (.csv, or .xlsx with --xlsx)")],
    xlsx: Annotated[bool, typer.Option("--xlsx", help="Excel template with dropdowns")] = False,
    fy2024: Annotated[bool, typer.Option("--fy2024", help="FY2024 columns (Gender)")] = False,
) -> None:
    """Write an empty intake template with the current columns (.xlsx names an Excel one)."""
    from schemas.intake_template import write_template

    xlsx = xlsx or out.suffix.lower() == ".xlsx"
    write_template(out, xlsx=xlsx, spec_version="FY2024" if fy2024 else "FY2026")
    typer.echo(f"wrote {out}")


@app.command("sftp-gateway")
def sftp_gateway(
    config: ConfigOption = None,
    keys_dir: Annotated[
        Path, typer.Option(help="root-owned folder of authorized keys, one file per login")
    ] = Path("/etc/ssh/handoff-keys"),
    gateway_root: Annotated[
        Path, typer.Option(help="root-owned folder for the partners' chroots")
    ] = Path("/srv/handoff-sftp"),
    user_prefix: Annotated[str, typer.Option(help="login name = prefix + agency/partner id")] = (
        "handoff-"
    ),
    host: Annotated[str, typer.Option(help="this gateway's address, for the push URLs")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="this gateway's SSH port, for the push URLs")] = 22,
) -> None:
    """Print OpenSSH Match blocks (internal-sftp, chroot, key-only) for agencies and partners."""
    from hmis_handoff.gateway import gateway_config

    typer.echo(
        gateway_config(
            _settings(config),
            keys_dir=keys_dir,
            gateway_root=gateway_root,
            user_prefix=user_prefix,
            host=host,
            port=port,
        ),
        nl=False,
    )


def _settings(config: Path | None) -> Settings:
    from hmis_handoff.config import load_settings

    try:
        return load_settings(config)
    except HandoffError as exc:
        raise _fail(str(exc)) from None


def _lifeline() -> None:
    """If this command is killed, end the Prefect server it started (hmis_handoff/lifeline)."""
    from hmis_handoff.lifeline import start_lifeline

    start_lifeline()


def _api_reachable(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _serves_this_root(url: str, settings: Settings) -> bool:
    """False when the server answering at ``url`` is another data root's ``handoff up``
    (its marker differs): this sweep must not publish runs and dashboards there. A server
    without a marker (a shared Prefect server at scale) is used as before."""
    import urllib.error
    import urllib.request

    from hmis_handoff.prefect_env import STACK_VARIABLE, stack_marker

    try:
        with urllib.request.urlopen(f"{url}/variables/name/{STACK_VARIABLE}", timeout=2) as r:
            marker = json.loads(r.read()).get("value")
    except (OSError, ValueError):
        return True  # 404 (no marker) or no answer: nothing says it is another stack's
    if marker == stack_marker(settings):
        return True
    typer.secho(
        f"note: the Prefect server at {url.removesuffix('/api')} belongs to another data"
        " root's `handoff up`; this sweep runs without it (not recorded in Prefect).",
        err=True,
    )
    return False


def main() -> None:  # pragma: no cover - console entry point
    from hmis_handoff.private_files import set_private_umask

    set_private_umask()  # every file this command (or a server it starts) writes: 0600
    try:
        app()
    except HandoffError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        sys.exit(2)
    except OSError as exc:
        # One line, no traceback; strerror only (the path may be an agency's file name).
        typer.secho(f"error: {exc.strerror or type(exc).__name__}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except Exception as exc:
        from hmis_handoff.ledger.failures import is_database_failure

        if not is_database_failure(exc):
            raise
        # Its text may quote SQL parameters (ids, keyed hashes): name the class only.
        typer.secho(
            f"error: the ledger database failed ({type(exc).__name__}); check [ledger] url "
            "(HANDOFF_LEDGER__URL) and that the database is running",
            fg=typer.colors.RED,
            err=True,
        )
        sys.exit(2)
