"""`appupdater-agent init --state DIR`: prepares a device's agent in one step. It creates the
state folder (0700), a random bearer token (agent.token, 0600), unless --no-tls a self-signed
TLS certificate and its key (agent.pem, agent.key 0600, made with the `openssl` command), and
agent.env, the options packaging/agent/appupdater-agent.service starts the agent with. Then it
prints the endpoint, the certificate's SHA-256 fingerprint and how to enter both in App Updater.
Existing files are never overwritten without --force; a refused init writes nothing."""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PORT = 8443  # the agent's own default (--port)
CERT_DAYS = 3650  # pinned by its fingerprint, so its age does not matter: renew with --force
TOKEN, CERT, KEY, OPTIONS = "agent.token", "agent.pem", "agent.key", "agent.env"
UNIT = "appupdater-agent.service"
UNSPLITTABLE = "\"'\\$%"  # what systemd's $VAR splitting (agent.env) cannot carry
NOT_IN_CN = re.compile(r"[^A-Za-z0-9._-]")


class InitError(Exception):
    """init cannot go on; the text says why and what to do, in one line."""


@dataclass(frozen=True)
class Address:
    host: str
    port: int

    @property
    def is_ip(self) -> bool:
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="appupdater-agent init",
        description="Prepare this device's agent: the state folder, a token file and a "
        "self-signed TLS certificate, and the options the appupdater-agent service starts with. "
        "Prints what to enter in App Updater.",
    )
    parser.add_argument("--state", required=True, help="the agent's state folder (created 0700)")
    parser.add_argument(
        "--address",
        type=address,
        metavar="HOST:PORT",
        help="where App Updater reaches this agent; the agent listens on every address at PORT "
        f"(default: this device's address on its default route, port {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--device",
        default="",
        help="this device's name, as App Updater knows it (default: the host name)",
    )
    parser.add_argument(
        "--no-tls",
        action="store_true",
        help="no certificate: the agent speaks plain HTTP (trusted networks only)",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace the token, certificate and key that exist"
    )
    return parser


def address(text: str) -> Address:
    """An argparse type: HOST:PORT, HOST an IPv4 address or a host name (the agent listens on
    IPv4)."""
    host, colon, port = text.rpartition(":")
    if host.startswith("[") or ":" in host:
        raise argparse.ArgumentTypeError(
            f"{text!r}: the agent listens on IPv4 only; give HOST:PORT with an IPv4 address or "
            "a host name"
        )
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT (like 10.0.3.7:8443)")
    if any(not c.isprintable() or c.isspace() or c in "/@\"'\\$%" for c in host):
        raise argparse.ArgumentTypeError(f"{host!r} is not a host name or address (HOST:PORT)")
    return Address(host, int(port))


def default_host() -> str:
    """This device's address on its default route (no packet is sent), else its host name."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: only picks the route
            found = str(probe.getsockname()[0])
        if not ipaddress.ip_address(found).is_unspecified:
            return found
    except (OSError, ValueError):
        pass
    return socket.getfqdn() or socket.gethostname()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    state = Path(args.state).absolute()
    where = args.address or Address(default_host(), DEFAULT_PORT)
    device = args.device.strip() or socket.gethostname()
    try:
        written = initialise(state, where, device, tls=not args.no_tls, force=args.force)
    except InitError as exc:
        print(f"appupdater-agent init: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        place = f" ({exc.filename})" if exc.filename else ""
        print(f"appupdater-agent init: {exc.strerror or exc}{place}", file=sys.stderr)
        return 1
    print(report(state, where, device, written, defaulted=args.address is None))
    return 0


def initialise(state: Path, where: Address, device: str, *, tls: bool, force: bool) -> str:
    """Write the files into `state`; the certificate's fingerprint (AB:CD:…), "" without TLS."""
    names = [TOKEN, OPTIONS] + ([CERT, KEY] if tls else [])
    if not force and (existing := [str(state / n) for n in names if os.path.lexists(state / n)]):
        raise InitError(
            f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; give "
            "--force to replace them (App Updater then needs the new token and fingerprint)"
        )
    for what, text in (("the state folder", str(state)), ("the device name", device)):
        if any(not c.isprintable() or c.isspace() or c in UNSPLITTABLE for c in text):
            raise InitError(
                f"{what} {text!r} has spaces, quotes, $ or % in it, which the options in "
                f"{OPTIONS} cannot hold; choose one without them"
            )
    openssl = shutil.which("openssl")
    if tls and openssl is None:
        raise InitError(
            "the openssl command, which makes the TLS certificate, is not installed: install "
            "it (Debian, Ubuntu: apt install openssl) and run init again, or give --no-tls for "
            "plain HTTP on a trusted network"
        )
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    state.chmod(0o700)
    work = Path(tempfile.mkdtemp(prefix=".init-", dir=state))  # 0700, beside the targets
    try:
        _write(work / TOKEN, secrets.token_urlsafe(32) + "\n", 0o600)
        fingerprint = ""
        if openssl is not None and tls:
            fingerprint = _certificate(openssl, work, where, device)
        _write(work / OPTIONS, _options(state, where, device, tls), 0o600)
        for name in names:
            _place(work / name, state / name, force)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return fingerprint


def _write(path: Path, text: str, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)


def _place(made: Path, target: Path, force: bool) -> None:
    if force:
        os.replace(made, target)
        return
    try:
        os.link(made, target)  # never over a file that appeared meanwhile
    except FileExistsError:
        raise InitError(f"{target} appeared while init ran; give --force to replace it") from None


def _certificate(openssl: str, work: Path, where: Address, device: str) -> str:
    """A self-signed certificate (P-256 key) for `where` and this host; its fingerprint."""
    names = {f"IP:{where.host}" if where.is_ip else f"DNS:{where.host}"}
    host = socket.gethostname()
    if host and not NOT_IN_CN.search(host):
        names.add(f"DNS:{host}")
    common_name = NOT_IN_CN.sub("-", device)[:64] or "appupdater-agent"
    command = [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt"]
    command += ["ec_paramgen_curve:prime256v1", "-nodes", "-days", str(CERT_DAYS)]
    command += [
        "-subj",
        f"/CN={common_name}",
        "-addext",
        f"subjectAltName={','.join(sorted(names))}",
    ]
    command += ["-keyout", str(work / KEY), "-out", str(work / CERT)]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    if result.returncode != 0 or not (work / CERT).exists():
        said = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise InitError(f"openssl could not make the TLS certificate: {said}")
    (work / KEY).chmod(0o600)
    (work / CERT).chmod(0o644)
    der = ssl.PEM_cert_to_DER_cert((work / CERT).read_text(encoding="ascii"))
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def _options(state: Path, where: Address, device: str, tls: bool) -> str:
    parts = ["--listen", "0.0.0.0", "--port", str(where.port)]
    if device:
        parts += ["--device", device]
    parts += ["--token-file", str(state / TOKEN)]
    parts += (
        ["--cert", str(state / CERT), "--key", str(state / KEY)] if tls else ["--insecure-http"]
    )
    return (
        f"# Written by `appupdater-agent init`; {UNIT} starts the agent with\n"
        f"#   appupdater-agent --state {state} $APPUPDATER_AGENT_OPTIONS\n"
        "# Add options here (appupdater-agent --help), then: systemctl restart appupdater-agent\n"
        f'APPUPDATER_AGENT_OPTIONS="{" ".join(parts)}"\n'
    )


def report(state: Path, where: Address, device: str, fingerprint: str, defaulted: bool) -> str:
    """What init prints: the files, the endpoint and fingerprint, how to enter them."""
    scheme = "https" if fingerprint else "http"
    endpoint = f"{scheme}://{where.host}:{where.port}"
    token = state / TOKEN
    lines = [f"The agent's state folder {state} is ready:"]
    lines.append(f"  {TOKEN}  the bearer token (mode 0600)")
    if fingerprint:
        lines.append(f"  {CERT}    the TLS certificate (self-signed, valid {CERT_DAYS} days)")
        lines.append(f"  {KEY}    its private key (mode 0600)")
    lines.append(f"  {OPTIONS}    the options {UNIT} starts the agent with")
    lines += ["", f"Endpoint:     {endpoint}"]
    if defaulted:
        lines.append("              (this device's address on its default route; if App Updater")
        lines.append("              reaches it at another one: init --address HOST:PORT --force)")
    if fingerprint:
        lines.append(f"Fingerprint:  {fingerprint}")
    lines.append(f"Token:        the content of {token}")
    lines.append(f"              (sudo cat {token})")
    if not fingerprint:
        lines.append("Plain HTTP: the token and every deployment cross the network unencrypted;")
        lines.append("use it on a trusted network only.")
    entered = "endpoint, fingerprint and token" if fingerprint else "endpoint and token"
    lines += ["", f"In App Updater, enter the {entered} in Devices → Device connection…"]
    lines += ["(select the device first), or in a fleet file (appupdater import FILE):", ""]
    lines += ["devices:", f"  - name: {json.dumps(device)}", f"    endpoint: {endpoint}"]
    if fingerprint:
        lines.append(f'    fingerprint: "{fingerprint}"')
    lines += [f'    token: "…"    # the content of {token}', ""]
    lines.append("Start the agent: sudo systemctl enable --now appupdater-agent")
    command = ["appupdater-agent", "--state", str(state), *_start_options(state)]
    lines.append(f"Without systemd, as the folder's owner: {shlex.join(command)}")
    if os.geteuid() == 0 and state != Path("/var/lib/appupdater-agent"):
        lines.append(
            "Note: init ran as root, so these files belong to root: give them to the user "
            f"the agent runs as (chown -R USER: {state})."
        )
    return "\n".join(lines)


def _start_options(state: Path) -> list[str]:
    text = (state / OPTIONS).read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith("APPUPDATER_AGENT_OPTIONS="))
    return line.partition("=")[2].strip('"').split()
