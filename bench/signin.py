"""Benchmark: complete SAML sign-ins against a real server, as edu-ID sends them, beside xmlsec1's own cost.

Usage (from the repository root, PostgreSQL and Redis on 127.0.0.1):

    .venv/bin/python bench/signin.py                  # 100 sign-ins, sequential then 8 concurrent clients
    .venv/bin/python bench/signin.py -n 200 -c 16 --key-bits 2048

It creates (or reuses) BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/auditorium_signin_bench),
writes an SP key pair (3072-bit by default, as production uses) and a pysaml2 test IdP (tests/saml_idp.py)
with its metadata into a temporary folder, seeds the tenant `bench` that trusts that IdP, and starts gunicorn
(2 gthread workers x 4 threads, Redis cache and sessions as in production) on a free port of 127.0.0.1.

A sign-in is what a browser does: GET /saml2/login/?idp=... (the SP answers a redirect carrying its
AuthnRequest and remembers the request id in the SAML session), then POST /saml2/acs/ with the IdP's answer:
a signed Response whose Assertion is encrypted to the SP's key (edu-ID's shape), with fresh attributes. The
IdP's answers are made between the two measured phases, so the IdP's own signing and encryption (client CPU
on the same cores) stays out of the figures. Printed per phase: the SP's CPU per sign-in (its processes and
their xmlsec1 children, from /proc), the ACS's p50/p99, and sign-ins per second per core (1 / CPU per
sign-in).

Baseline in the same run: xmlsec1 run directly on one of those responses, once to verify the Response's
signature with the IdP's certificate and once to decrypt the Assertion with the SP's key: the floor for an SP
that shells out to xmlsec1. Bounded: at most 2,000 sign-ins and 64 clients; only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from join import (  # noqa: E402
    HOST,
    TENANT,
    bench_env,
    bench_tenant,
    cpu_seconds,
    ensure_database,
    free_port,
    start_server,
    wait_ready,
)

from tenants.key_files import self_signed_pair  # noqa: E402

MAX_SIGNINS = 2000
MAX_CLIENTS = 64
IDP_ENTITY = "https://idp.bench.example.org/idp/shibboleth"
IDP_SSO = "https://idp.bench.example.org/idp/profile/SAML2/Redirect/SSO"
SCOPE = "bench.example.org"


@dataclass
class Phase:
    name: str
    signins: int = 0
    login_cpu: float = 0.0
    acs_cpu: float = 0.0
    acs_latencies: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        per = (self.login_cpu + self.acs_cpu) / self.signins * 1000 if self.signins else float("nan")
        ordered = sorted(self.acs_latencies) or [float("nan")]
        p50 = ordered[len(ordered) // 2] * 1000
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))] * 1000
        per_core = 1000 / per if per == per and per > 0 else float("nan")
        login = self.login_cpu / self.signins * 1000 if self.signins else float("nan")
        acs = self.acs_cpu / self.signins * 1000 if self.signins else float("nan")
        failed = f", FAILED {self.failures}" if self.failures else ""
        return (
            f"{self.name:<26} {self.signins:>4}  SP CPU {per:6.1f} ms/sign-in (login {login:5.1f}, "
            f"ACS {acs:6.1f})  ACS p50 {p50:6.1f} p99 {p99:6.1f} ms  {per_core:5.1f}/s/core{failed}"
        )


class Browser:
    """One person's cookies and connection to the portal."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.connection = http.client.HTTPConnection(HOST, port, timeout=30)

    def request(self, method: str, path: str, body: str = "") -> http.client.HTTPResponse:
        headers = {"Host": HOST, "X-Forwarded-For": "203.0.113.7"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.connection.request(method, path, body=body.encode() or None, headers=headers)
            response = self.connection.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # The server closed the idle connection while the IdP was busy: reconnect, as a browser does.
            self.connection.close()
            self.connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
            self.connection.request(method, path, body=body.encode() or None, headers=headers)
            response = self.connection.getresponse()
        response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            self.cookies.update({name: morsel.value for name, morsel in jar.items()})
        return response


def attributes(i: int) -> dict[str, list[str]]:
    return {
        "subject-id": [f"p{i:05d}@{SCOPE}"],
        "swissEduPersonHomeOrganization": [SCOPE],
        "eduPersonAffiliation": ["student", "member"],
        "eduPersonScopedAffiliation": [f"student@{SCOPE}"],
        "givenName": ["Bench"],
        "sn": [f"Student {i}"],
        "displayName": [f"Bench Student {i}"],
        "mail": [f"p{i:05d}@{SCOPE}"],
        "preferredLanguage": ["de"],
    }


def start_login(browser: Browser, idp) -> tuple[str, str]:  # type: ignore[no-untyped-def]  # TestIdP
    query = urlencode({"idp": IDP_ENTITY, "next": f"/{TENANT}/"})
    response = browser.request("GET", f"/saml2/login/?{query}")
    location = response.headers.get("Location", "")
    if response.status != 302 or not location.startswith(IDP_SSO):
        raise RuntimeError(f"login answered {response.status} {location[:80]}")
    request = idp.read_request(location)
    relay = parse_qs(urlsplit(location).query).get("RelayState", [""])[0]
    return request.id, relay


def run_phase(name: str, port: int, server: int, idp, sp_entity: str, people: range, clients: int) -> Phase:  # type: ignore[no-untyped-def]
    phase = Phase(name)
    browsers = [Browser(port) for _ in people]

    def login(index: int) -> tuple[str, str]:
        return start_login(browsers[index], idp)

    before = cpu_seconds(server, children=True)
    with ThreadPoolExecutor(clients) as pool:
        started = list(pool.map(login, range(len(browsers))))
    phase.login_cpu = cpu_seconds(server, children=True) - before

    # The IdP's part, unmeasured: one signed response with an encrypted assertion per person.
    forms = []
    for (request_id, relay), i in zip(started, people, strict=True):
        xml = idp.response_xml(attributes(i), in_response_to=request_id, sp_entity_id=sp_entity)
        forms.append(
            urlencode({"SAMLResponse": base64.b64encode(xml.encode()).decode(), "RelayState": relay})
        )

    def acs(index: int) -> tuple[float, int, str]:
        started_at = time.perf_counter()
        response = browsers[index].request("POST", "/saml2/acs/", forms[index])
        return time.perf_counter() - started_at, response.status, response.headers.get("Location", "")

    before = cpu_seconds(server, children=True)
    with ThreadPoolExecutor(clients) as pool:
        answers = list(pool.map(acs, range(len(browsers))))
    phase.acs_cpu = cpu_seconds(server, children=True) - before
    for latency, status, location in answers:
        if status == 302 and location == f"/{TENANT}/":
            phase.signins += 1
            phase.acs_latencies.append(latency)
        else:
            key = f"{status} {location[:40]}"
            phase.failures[key] = phase.failures.get(key, 0) + 1
    for browser in browsers:
        browser.connection.close()
    return phase


def xmlsec1_floor(
    response_xml: str, idp_cert: Path, sp_key: Path, workdir: Path, rounds: int
) -> tuple[float, float]:
    """CPU seconds of one signature check and one decryption done by xmlsec1 directly."""
    signed = workdir / "response.xml"
    signed.write_text(response_xml)
    encrypted = re.search(r"<(\w+:)?EncryptedData\b.*?</(\w+:)?EncryptedData>", response_xml, re.DOTALL)
    if encrypted is None:
        raise RuntimeError("the response carries no EncryptedData")
    namespaces = (
        'xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"'
    )
    fragment = re.sub(
        r"^<(\w+:)?EncryptedData", lambda m: f"{m.group(0)} {namespaces}", encrypted.group(0), count=1
    )
    enc = workdir / "encrypted.xml"
    enc.write_text(fragment)

    def children() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    verify = [
        "xmlsec1", "--verify", "--pubkey-cert-pem", str(idp_cert),
        "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:Response", str(signed),
    ]  # fmt: skip
    decrypt = ["xmlsec1", "--decrypt", "--privkey-pem", str(sp_key), str(enc)]
    results = []
    for command in (verify, decrypt):
        before = children()
        for _ in range(rounds):
            done = subprocess.run(command, capture_output=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"{command[1]} failed: {done.stderr.decode()[-300:]}")
        results.append((children() - before) / rounds)
    return results[0], results[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--signins", type=int, default=100)
    parser.add_argument("-c", "--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--key-bits", type=int, default=3072, choices=(2048, 3072, 4096))
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/auditorium_signin_bench"
        ),
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8"))
    args = parser.parse_args()
    count = max(1, min(args.signins, MAX_SIGNINS))
    clients = max(1, min(args.clients, MAX_CLIENTS))

    work = Path(tempfile.mkdtemp(prefix="signin-bench-"))
    sp_key, sp_cert = work / "sp.key", work / "sp.crt"
    key_pem, cert_pem = self_signed_pair("auditorium bench SP", days=30, bits=args.key_bits)
    sp_key.write_bytes(key_pem)
    sp_cert.write_bytes(cert_pem)

    from tests.saml_idp import TestIdP

    idp = TestIdP(entity_id=IDP_ENTITY, sso_url=IDP_SSO, scopes=[SCOPE], key_name="bench-idp", workdir=work)
    idp_metadata = work / "idp-metadata.xml"
    idp_metadata.write_text(idp.metadata_xml())

    port = free_port()
    public_url = f"http://{HOST}:{port}"
    ensure_database(args.database_url)
    env = bench_env(args.database_url, args.redis_url)
    env.update(
        PUBLIC_URL=public_url,
        SAML_KEY_FILE=str(sp_key),
        SAML_CERT_FILE=str(sp_cert),
        SAML_METADATA_FILES=str(idp_metadata),
        ANONYMOUS_TENANT="",
    )
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from tenants.models import HomeOrganization, User

    tenant = bench_tenant()
    tenant.allowed_idps = [IDP_ENTITY]
    tenant.save(update_fields=["allowed_idps"])
    HomeOrganization.objects.update_or_create(domain=SCOPE, defaults={"tenant": tenant})  # bench data only
    User.objects.filter(username__startswith="u-", identities__issuer=IDP_ENTITY).delete()  # first sign-ins
    from django.db import connections

    connections.close_all()

    server = start_server("gunicorn", port, env, args.workers, args.threads)
    try:
        wait_ready(port, server)
        probe = Browser(port)
        sp_entity = f"{public_url}/saml2/metadata/"
        metadata = probe.request("GET", "/saml2/metadata/")
        if metadata.status != 200:
            raise SystemExit(f"/saml2/metadata/ answered {metadata.status}")
        probe.connection.request("GET", "/saml2/metadata/", headers={"Host": HOST})
        idp.load_sp(probe.connection.getresponse().read().decode())
        probe.connection.close()

        one_load = os.getloadavg()[0]
        print(
            f"SP key RSA-{args.key_bits}, gunicorn {args.workers}x{args.threads}, "
            f"load {one_load:.2f} on {os.cpu_count()} CPUs"
        )
        warm = run_phase(
            "warm-up (first of each)", port, server.pid, idp, sp_entity, range(0, 2 * args.workers), 1
        )
        first = run_phase("sequential, first", port, server.pid, idp, sp_entity, range(1000, 1000 + count), 1)
        again = run_phase(
            "sequential, returning", port, server.pid, idp, sp_entity, range(1000, 1000 + count), 1
        )
        concurrent = run_phase(
            f"{clients} clients, returning",
            port,
            server.pid,
            idp,
            sp_entity,
            range(1000, 1000 + count),
            clients,
        )
        for phase in (warm, first, again, concurrent):
            print(phase.line())

        # The floor: xmlsec1 itself on one of these responses (its own fresh request id does not matter here).
        xml = idp.response_xml(attributes(0), in_response_to="id-bench", sp_entity_id=sp_entity)
        verify, decrypt = xmlsec1_floor(xml, idp.cert_file, sp_key, work, rounds=20)
        print(
            f"{'xmlsec1 directly':<22} verify {verify * 1000:5.1f} ms + decrypt {decrypt * 1000:5.1f} ms = "
            f"{(verify + decrypt) * 1000:5.1f} ms CPU per response ({1 / (verify + decrypt):5.1f}/s/core)"
        )
        best = min(again, concurrent, key=lambda p: (p.login_cpu + p.acs_cpu) / max(p.signins, 1))
        per = (best.login_cpu + best.acs_cpu) / max(best.signins, 1)
        print(
            f"ratio SP / xmlsec1 floor: {per / (verify + decrypt):.1f}x "
            "(target: <= 40 ms CPU, >= 25 sign-ins/s/core)"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
