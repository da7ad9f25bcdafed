"""What the agent checks before it serves: its options, the token file, the TLS certificate and
key. Each problem is a `StartError` whose text names the file and what to do; the command line
(`server.main`) prints it as one line and exits 1."""

from __future__ import annotations

import argparse
import ipaddress
import os
import ssl
import stat
from collections.abc import Callable
from pathlib import Path

from appupdater.agent import AGENT_VERSION
from appupdater.agent.limits import Limits
from appupdater.agent.pruning import DEFAULT_KEEP

REQUEST_TIMEOUT = 30.0  # seconds a client has to send a whole request (and a TLS handshake)
MAX_CONNECTIONS = 64  # connections served at once; more are closed at once
MAX_DOWNLOAD_MB = 2048
MAX_UNPACKED_MB = 8192
MIN_TOKEN = 16
MB = 1024 * 1024


class StartError(Exception):
    """The agent cannot start; the text says why, in one line."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="appupdater-agent",
        description="Receive deployments from App Updater and apply them on this device.",
    )
    parser.add_argument("--state", required=True, help="folder for the agent's state and modules")
    parser.add_argument("--listen", default="0.0.0.0", help="address to listen on")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--device", default="", help="this device's name, as App Updater knows it")
    parser.add_argument(
        "--token-file",
        help="file holding the bearer token, readable by its owner only (chmod 600); "
        "else the APPUPDATER_AGENT_TOKEN environment variable",
    )
    parser.add_argument("--cert", help="TLS certificate (PEM); with --key, the agent speaks HTTPS")
    parser.add_argument("--key", help="TLS private key (PEM, not encrypted)")
    parser.add_argument(
        "--insecure-http",
        action="store_true",
        help="speak plain HTTP (tests and trusted networks only)",
    )
    parser.add_argument("--download-timeout", type=positive(float), default=30.0)
    parser.add_argument(
        "--request-timeout",
        type=positive(float),
        default=REQUEST_TIMEOUT,
        metavar="SECONDS",
        help="a client must send a whole request, and finish a TLS handshake, within this time "
        f"or its connection is closed (default {REQUEST_TIMEOUT:g})",
    )
    parser.add_argument(
        "--max-connections",
        type=positive(int),
        default=MAX_CONNECTIONS,
        metavar="N",
        help=f"connections served at once; more are closed at once (default {MAX_CONNECTIONS})",
    )
    parser.add_argument(
        "--max-connections-per-address",
        type=positive(int),
        metavar="N",
        help="connections served at once from one address (an IPv6 /64); more are closed at "
        "once (default a quarter of --max-connections, at least 2)",
    )
    parser.add_argument(
        "--max-download-mb",
        type=positive(float),
        default=MAX_DOWNLOAD_MB,
        metavar="MB",
        help=f"the largest artifact a deployment downloads (default {MAX_DOWNLOAD_MB})",
    )
    parser.add_argument(
        "--max-unpacked-mb",
        type=positive(float),
        default=MAX_UNPACKED_MB,
        metavar="MB",
        help=f"the most an artifact may unpack to (default {MAX_UNPACKED_MB})",
    )
    parser.add_argument(
        "--keep-versions",
        type=at_least_zero,
        default=DEFAULT_KEEP,
        metavar="N",
        help="previous versions of each module kept on disk besides the active one, so that "
        "going back to them downloads nothing; older ones are removed after each successful "
        "deployment. The previous version (active before the last switch) always stays: 0 "
        f"keeps only the active and the previous version, as 1 does (default {DEFAULT_KEEP})",
    )
    parser.add_argument(
        "--health-timeout",
        type=positive(float),
        default=60.0,
        metavar="SECONDS",
        help="how long a module started by a deployment has to pass its health hook "
        "(hooks/health, tried again every second) before the deployment is rolled back; a "
        "module's own hooks/health-timeout takes precedence (default 60)",
    )
    parser.add_argument(
        "--hook-timeout",
        type=positive(float),
        default=30.0,
        metavar="SECONDS",
        help="how long one run of a module's hook (stop, start, health) may take before its "
        "whole process group is killed (default 30)",
    )
    parser.add_argument(
        "--artifact-folder",
        metavar="PATH",
        help="a folder file:// artifact URLs may be read from; without it only http(s) URLs "
        "are fetched",
    )
    parser.add_argument(
        "--port-file", help="write the port listened on to this file (for --port 0)"
    )
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--version", action="version", version=f"appupdater-agent {AGENT_VERSION}")
    return parser


def positive(kind: type[int] | type[float]) -> Callable[[str], float]:
    """An argparse type: a finite number of `kind` above zero."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not 0 < value < float("inf"):
            raise argparse.ArgumentTypeError(f"must be a number above 0, not {text!r}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def at_least_zero(text: str) -> int:
    """An argparse type: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text!r}")
    return value


def per_address_share(max_connections: int) -> int:
    """How many connections one address may hold by default: a quarter of all, but at least
    2 (the workstation's engine keeps one to a device for a deployment's long polls and opens
    another for each probe round), and never more than all."""
    return min(max_connections, max(2, max_connections // 4))


def limits(args: argparse.Namespace) -> Limits:
    folder = None
    if args.artifact_folder:
        folder = Path(args.artifact_folder).resolve()
        if not folder.is_dir():
            raise StartError(f"the artifact folder {args.artifact_folder} is not a folder")
    return Limits(
        download_bytes=int(args.max_download_mb * MB),
        unpacked_bytes=int(args.max_unpacked_mb * MB),
        artifact_folder=folder,
    )


def read_token(token_file: str | None) -> str:
    """The bearer token from `token_file` (which only its owner may read), else from the
    environment."""
    if token_file:
        token = _token_from(Path(token_file))
        where = f"the token file {token_file}"
    else:
        token = os.environ.get("APPUPDATER_AGENT_TOKEN", "").strip()
        where = "APPUPDATER_AGENT_TOKEN"
    if len(token) < MIN_TOKEN:
        raise StartError(
            f"a token of at least {MIN_TOKEN} characters is required ({where} holds "
            f"{len(token)}; give --token-file FILE or the APPUPDATER_AGENT_TOKEN environment "
            "variable)"
        )
    return token


def _token_from(path: Path) -> str:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise StartError(f"the token file {path} does not exist") from None
    except OSError as exc:
        raise StartError(f"the token file {path} cannot be read: {exc.strerror}") from None
    if stat.S_ISDIR(mode):
        raise StartError(f"the token file {path} is a directory")
    if mode & 0o077:
        raise StartError(
            f"the token file {path} has mode {stat.S_IMODE(mode):04o}, so others than its owner "
            f"can read it; restrict it with: chmod 600 {path}"
        )
    try:
        return path.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError:
        raise StartError(f"the token file {path} is not UTF-8 text") from None
    except OSError as exc:
        raise StartError(f"the token file {path} cannot be read: {exc.strerror}") from None


def tls_context(cert: str | None, key: str | None, insecure_http: bool) -> ssl.SSLContext | None:
    """The server's TLS context from the certificate and key files; None for plain HTTP."""
    if not (cert or key):
        if not insecure_http:
            raise StartError("give --cert and --key for HTTPS, or --insecure-http for plain HTTP")
        return None
    if not (cert and key):
        raise StartError("--cert and --key go together")
    for what, file in (("certificate", cert), ("key", key)):
        if not Path(file).is_file():
            raise StartError(f"the TLS {what} file {file} does not exist")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2

    def no_password() -> bytes:
        raise StartError(f"the TLS key {key} is encrypted; give a key without a password")

    try:
        context.load_cert_chain(cert, key, password=no_password)
    except ssl.SSLError as exc:
        raise StartError(_tls_problem(cert, key, exc)) from None
    except OSError as exc:
        raise StartError(f"the TLS files {cert} and {key} cannot be read: {exc}") from None
    return context


def _tls_problem(cert: str, key: str, exc: ssl.SSLError) -> str:
    reason = exc.reason or str(exc)
    if reason == "KEY_VALUES_MISMATCH":
        return f"the TLS key {key} does not belong to the certificate {cert}"
    try:  # the certificate alone
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=cert)
    except (ssl.SSLError, OSError):
        return f"the TLS certificate {cert} is not a PEM certificate ({reason})"
    return f"the TLS key {key} is not a PEM private key for the certificate {cert}"


def network_warning(address: str) -> str | None:
    """What to say about plain HTTP on `address` (the one bound); None on loopback."""
    try:
        if ipaddress.ip_address(address).is_loopback:
            return None
    except ValueError:
        pass  # a name: say it
    return (
        f"plain HTTP on {address}, which is not a loopback address: the token and every "
        "deployment cross the network unencrypted, so anyone on it can read the token and "
        "send this device deployments; use --cert and --key for HTTPS"
    )
