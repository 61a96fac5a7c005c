"""The SP's SAML key pair: generate, show, roll over (stage, promote, retire). See tenants/saml_keys.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants import saml_keys
from tenants.saml_config import clear_config_cache


class Command(BaseCommand):
    help = (
        "Manage the SP's SAML key and certificate: generate, show, and roll over without breaking sign-in "
        "(stage a next pair, wait for the federation to publish the new metadata, promote, retire)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        generate = actions.add_parser("generate", help="write a new key and self-signed certificate")
        stage = actions.add_parser(
            "stage", help="write the next pair beside the current one (rollover step 1)"
        )
        for sub in (generate, stage):
            sub.add_argument("--bits", type=int, choices=saml_keys.KEY_SIZES, default=saml_keys.DEFAULT_BITS)
            sub.add_argument(
                "--days", type=int, default=saml_keys.DEFAULT_DAYS, help="validity (default 3650)"
            )
            sub.add_argument("--common-name", help="certificate subject CN (default: PUBLIC_URL's host)")
            sub.add_argument("--force", action="store_true", help="replace an existing key")
        actions.add_parser("show", help="fingerprint, subject, expiry and key size of each pair")
        actions.add_parser("promote", help="make the staged pair current (rollover step 3)")
        actions.add_parser("retire", help="forget the previous pair now (rollover step 4)")
        for sub in actions.choices.values():
            sub.add_argument("--key", help="the key file (default: SAML_KEY_FILE)")
            sub.add_argument("--cert", help="the certificate file (default: SAML_CERT_FILE)")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            paths = saml_keys.rollover_paths(opts["key"], opts["cert"])
            getattr(self, f"do_{opts['action']}")(paths, opts)
        except saml_keys.KeyFileError as exc:
            raise CommandError(str(exc)) from exc
        clear_config_cache()

    def do_generate(self, paths: saml_keys.RolloverPaths, opts: dict[str, Any]) -> None:
        info = saml_keys.write_pair(paths.key, paths.cert, **pair_options(opts))
        self.stdout.write(self.style.SUCCESS(f"wrote {paths.key} (mode 0600) and {paths.cert}"))
        self.report("current", info)

    def do_stage(self, paths: saml_keys.RolloverPaths, opts: dict[str, Any]) -> None:
        info = saml_keys.stage(paths, **pair_options(opts))
        self.stdout.write(self.style.SUCCESS(f"staged {paths.next_key} and {paths.next_cert}"))
        self.report("next", info)
        self.stdout.write(
            "The SP metadata now publishes both certificates and either key decrypts. Next: have the "
            "federation publish the new metadata (SWITCHaai: resource registry), wait until IdPs have "
            "it, then run `manage.py saml_keys promote`."
        )

    def do_show(self, paths: saml_keys.RolloverPaths, opts: dict[str, Any]) -> None:
        if not paths.cert.exists():
            raise saml_keys.KeyFileError(f"No certificate at {paths.cert}: run `saml_keys generate`.")
        self.report("current", saml_keys.describe(paths.cert, paths.key))
        if paths.next_staged():
            self.report(
                "next (staged: published, decrypting)", saml_keys.describe(paths.next_cert, paths.next_key)
            )
        ends = paths.grace_ends()
        if ends is not None:
            until = dt.datetime.fromtimestamp(ends, dt.UTC).isoformat(timespec="minutes")
            state = (
                f"decrypting until {until}" if paths.previous_in_grace() else f"grace period ended {until}"
            )
            self.report(f"previous ({state})", saml_keys.describe(paths.previous_cert, paths.previous_key))

    def do_promote(self, paths: saml_keys.RolloverPaths, opts: dict[str, Any]) -> None:
        info = saml_keys.promote(paths)
        self.stdout.write(self.style.SUCCESS(f"promoted the staged pair to {paths.key} and {paths.cert}"))
        self.report("current", info)
        if paths.previous_key.exists():
            self.stdout.write(
                f"The old pair ({paths.previous_key}) still decrypts for {saml_keys.grace_days():g} days "
                "(SAML_KEY_GRACE_DAYS); `manage.py saml_keys retire` ends that sooner."
            )

    def do_retire(self, paths: saml_keys.RolloverPaths, opts: dict[str, Any]) -> None:
        if saml_keys.retire(paths):
            self.stdout.write(self.style.SUCCESS(f"removed {paths.previous_key} and {paths.previous_cert}"))
        else:
            self.stdout.write("No previous pair to retire.")

    def report(self, label: str, info: saml_keys.CertInfo) -> None:
        self.stdout.write(f"{label}: {info.path}")
        self.stdout.write(f"  SHA-256 fingerprint: {info.fingerprint}")
        self.stdout.write(f"  subject: {info.subject}")
        self.stdout.write(f"  not after: {info.not_after.isoformat()}")
        self.stdout.write(f"  key size: {info.key_size or 'not RSA'} bits")
        if info.key_matches is False:
            self.stderr.write(self.style.ERROR("  WARNING: the key file does not belong to this certificate"))
        now = dt.datetime.now(dt.UTC)
        if info.not_after <= now:
            self.stderr.write(self.style.ERROR("  WARNING: this certificate has expired"))
        elif info.expires_soon(now):
            days = (info.not_after - now).days
            self.stderr.write(
                self.style.WARNING(f"  WARNING: this certificate expires in {days} days: roll the key over")
            )


def pair_options(opts: dict[str, Any]) -> dict[str, Any]:
    return {
        "bits": opts["bits"],
        "days": opts["days"],
        "common_name": opts["common_name"] or saml_keys.default_common_name(),
        "force": opts["force"],
    }
