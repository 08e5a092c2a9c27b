"""AWS STS stand-in for `GetWebIdentityToken` (IAM outbound identity federation).

moto does not implement the action, so the tests bring their own. It speaks the AWS Query
protocol exactly as aws-sdk-sts sends and parses it (form-encoded POST, `Action` and `Version`,
`Audience.member.N`; an XML `GetWebIdentityTokenResponse`, or an XML `ErrorResponse`), signs RS256
JWTs with AWS's claims (`iss`, `sub` = the role ARN, `aud`, `iat`, `exp`, `jti` and the
`https://sts.amazonaws.com/` namespace), and publishes its issuer's OIDC discovery document and
JWKS, so a relying party (the Graph simulator's token endpoint) can verify the tokens the way
Entra does. Standard library only.

    python -m sim.sts [--port 0] [--role-arn ARN] [--max-lifetime S] [--exit-on-stdin-eof]

prints `LISTENING http://127.0.0.1:<port>` once bound. The control API under `/_sts/` (no auth)
reads the call count and log (`GET /_sts/state`), the tokens issued so far for leak checks
(`GET /_sts/issued`), and switches refusals on and off (`POST /_sts/config`); see sim/README.md.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import re
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from . import jose
from .lifecycle import serve_until_stopped

XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/"
API_VERSION = "2011-06-15"
DEFAULT_ROLE_ARN = "arn:aws:iam::123456789012:role/entra-idc-sync-function"
KEY_ID = "RSA_0"  # what real STS JWKS use
CLAIMS_NAMESPACE = "https://sts.amazonaws.com/"
# SigV4: `AWS4-HMAC-SHA256 Credential=AKID/20261129/us-east-1/sts/aws4_request, SignedHeaders=…`
CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")

# Refusals the control API can switch on: code -> (HTTP status, message template).
REFUSALS = {
    "AccessDenied": (403, "User: {caller} is not authorized to perform: sts:GetWebIdentityToken "
                          "because no identity-based policy allows the sts:GetWebIdentityToken action"),
    "OutboundWebIdentityFederationDisabledException": (
        403, "The outbound web identity federation feature is not enabled for this account. To use this "
             "feature, you must first enable it through the AWS Management Console or API."),
    "ExpiredToken": (400, "The security token included in the request is expired"),
    "ServiceUnavailable": (503, "Service is unavailable. Please try again later."),
}


class StsError(Exception):
    def __init__(self, status: int, code: str, message: str, sender: bool = True):
        super().__init__(message)
        self.status, self.code, self.message, self.sender = status, code, message, sender


@dataclass
class Sts:
    key: jose.RsaPrivateKey
    role_arn: str = DEFAULT_ROLE_ARN
    issuer: str = ""  # set to the base URL once bound, unless given
    refusal: str | None = None
    calls: int = 0
    log: list[dict] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)  # for the tests' leak checks only
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def account(self) -> str:
        parts = self.role_arn.split(":")
        return parts[4] if len(parts) > 4 else "123456789012"

    def state(self) -> dict:
        return {"calls": self.calls, "issuer": self.issuer, "role_arn": self.role_arn,
                "refusal": self.refusal, "requests": list(self.log)}

    def configure(self, body: dict) -> None:
        unknown = set(body) - {"role_arn", "refusal", "reset"}
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}: use role_arn, refusal, reset")
        refusal = body.get("refusal", self.refusal)
        if refusal is not None and refusal not in REFUSALS:
            raise ValueError(f"refusal must be null or one of {sorted(REFUSALS)}")
        if body.get("reset"):
            self.calls, self.log, self.issued = 0, [], []
        self.role_arn = body.get("role_arn") or self.role_arn
        self.refusal = refusal

    def get_web_identity_token(self, form: dict, region: str, now: float) -> str:
        """Validates like STS and returns the response XML."""
        audiences = members(form, "Audience")
        algorithm = form.get("SigningAlgorithm")
        duration_text = form.get("DurationSeconds", "300")
        if not audiences:
            raise StsError(400, "ValidationError", "1 validation error detected: Value null at 'audience' "
                                                  "failed to satisfy constraint: Member must not be null")
        if len(audiences) > 10 or any(not 1 <= len(a) <= 1000 for a in audiences):
            raise StsError(400, "ValidationError", "Audience must hold 1 to 10 values of 1 to 1000 characters")
        if algorithm not in ("RS256", "ES384"):
            raise StsError(400, "ValidationError", f"Value '{algorithm}' at 'signingAlgorithm' failed to "
                                                  "satisfy constraint: Member must be RS256 or ES384")
        if algorithm == "ES384":
            raise StsError(400, "ValidationError", "this stand-in signs RS256 only")
        if not duration_text.isdigit() or not 60 <= int(duration_text) <= 3600:
            raise StsError(400, "ValidationError", f"Value '{duration_text}' at 'durationSeconds' failed to "
                                                  "satisfy constraint: Member must be between 60 and 3600")
        duration = int(duration_text)
        iat = int(now)
        claims = {
            "iss": self.issuer, "aud": audiences[0] if len(audiences) == 1 else audiences,
            "sub": self.role_arn, "iat": iat, "nbf": iat, "exp": iat + duration, "jti": str(uuid.uuid4()),
            CLAIMS_NAMESPACE: {"aws_account": self.account, "source_region": region},
        }
        token = jose.encode_jwt({"alg": "RS256", "typ": "JWT", "kid": KEY_ID}, claims, self.key)
        self.issued.append(token)
        expiration = datetime.fromtimestamp(iat + duration, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return (f'<GetWebIdentityTokenResponse xmlns="{XMLNS}">\n'
                f"  <GetWebIdentityTokenResult>\n"
                f"    <WebIdentityToken>{escape(token)}</WebIdentityToken>\n"
                f"    <Expiration>{expiration}</Expiration>\n"
                f"  </GetWebIdentityTokenResult>\n"
                f"  <ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>\n"
                f"</GetWebIdentityTokenResponse>\n")

    def handle_action(self, headers, body: bytes) -> tuple[int, str]:
        """One Query-protocol call: (status, XML). Every call is counted and logged, tokens never."""
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        scope = CREDENTIAL_SCOPE.search(headers.get("Authorization") or "")
        entry = {"action": form.get("Action"), "version": form.get("Version"),
                 "audience": members(form, "Audience"),
                 "signing_algorithm": form.get("SigningAlgorithm"),
                 "duration_seconds": form.get("DurationSeconds"),
                 "region": scope.group(1) if scope else None, "status": None}
        with self.lock:
            self.calls += 1
            self.log.append(entry)
            try:
                if scope is None:
                    raise StsError(403, "MissingAuthenticationToken", "Request is missing Authentication Token")
                if scope.group(2) != "sts":
                    raise StsError(403, "SignatureDoesNotMatch",
                                   "Credential should be scoped to correct service: 'sts'.")
                if form.get("Action") != "GetWebIdentityToken":
                    raise StsError(400, "InvalidAction", f"Could not find operation {form.get('Action')} "
                                                         f"for version {form.get('Version')}")
                if form.get("Version") != API_VERSION:
                    raise StsError(400, "InvalidAction", f"Could not find operation GetWebIdentityToken "
                                                         f"for version {form.get('Version')}")
                if self.refusal:
                    status, template = REFUSALS[self.refusal]
                    caller = self.role_arn.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/")
                    raise StsError(status, self.refusal, template.format(caller=f"{caller}/session"),
                                   sender=status < 500)
                xml = self.get_web_identity_token(form, entry["region"], time.time())
                entry["status"] = 200
                return 200, xml
            except StsError as e:
                entry["status"], entry["error"] = e.status, e.code
                return e.status, error_xml(e)

    def discovery(self) -> dict:
        return {"issuer": self.issuer, "jwks_uri": f"{self.issuer}/.well-known/jwks.json",
                "response_types_supported": ["id_token"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256", "ES384"]}

    def jwks(self) -> dict:
        return {"keys": [self.key.public.jwk(KEY_ID)]}


def members(form: dict, name: str) -> list[str]:
    """A Query-protocol list, `Name.member.1`, `Name.member.2`, ..., in index order."""
    prefix = f"{name}.member."
    indexed = [(int(k[len(prefix):]), v) for k, v in form.items()
               if k.startswith(prefix) and k[len(prefix):].isdigit()]
    return [v for _, v in sorted(indexed)]


def error_xml(error: StsError) -> str:
    return (f'<ErrorResponse xmlns="{XMLNS}">\n'
            f"  <Error>\n"
            f"    <Type>{'Sender' if error.sender else 'Receiver'}</Type>\n"
            f"    <Code>{escape(error.code)}</Code>\n"
            f"    <Message>{escape(error.message)}</Message>\n"
            f"  </Error>\n"
            f"  <RequestId>{uuid.uuid4()}</RequestId>\n"
            f"</ErrorResponse>\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "sts-standin/1.0"
    timeout = 60

    def do_GET(self) -> None:
        sts: Sts = self.server.sts  # type: ignore[attr-defined]
        routes = {"/.well-known/openid-configuration": sts.discovery, "/.well-known/jwks.json": sts.jwks,
                  "/_sts/state": sts.state, "/_sts/issued": lambda: {"tokens": list(sts.issued)}}
        route = routes.get(self.path.split("?")[0])
        if route is None:
            return self.reply(404, "application/json", json.dumps({"error": "not found"}))
        with sts.lock:
            body = json.dumps(route())
        self.reply(200, "application/json", body)

    def do_POST(self) -> None:
        sts: Sts = self.server.sts  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path == "/_sts/config":
            try:
                with sts.lock:
                    sts.configure(json.loads(body or b"{}"))
                    state = sts.state()
            except (ValueError, AttributeError, TypeError) as e:
                return self.reply(400, "application/json", json.dumps({"error": str(e)}))
            return self.reply(200, "application/json", json.dumps(state))
        if self.path.split("?")[0] != "/":
            return self.reply(404, "application/json", json.dumps({"error": "not found"}))
        status, xml = sts.handle_action(self.headers, body)
        self.reply(status, "text/xml", xml, request_id=True)

    def reply(self, status: int, content_type: str, text: str, request_id: bool = False) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if request_id:
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:
        if self.server.verbose:  # type: ignore[attr-defined]
            sys.stderr.write(f"sts: {format % args}\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], sts: Sts, verbose: bool):
        self.sts, self.verbose = sts, verbose
        super().__init__(address, Handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="STS GetWebIdentityToken stand-in (loopback only).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--role-arn", default=DEFAULT_ROLE_ARN, help="the caller, becomes the tokens' sub")
    parser.add_argument("--issuer", help="the tokens' iss (default: this server's URL, which serves discovery)")
    parser.add_argument("--max-lifetime", type=float, default=900.0)
    parser.add_argument("--exit-on-stdin-eof", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    host = "127.0.0.1" if args.host == "localhost" else args.host
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        print(f"sts: refusing to bind {args.host!r}: loopback only", file=sys.stderr)
        return 2
    sts = Sts(jose.generate_rsa_key(2048), role_arn=args.role_arn)
    try:
        server = Server((host, args.port), sts, args.verbose)
    except OSError as e:
        print(f"sts: cannot listen on {host}:{args.port}: {e}", file=sys.stderr)
        return 2
    base_url = f"http://{host}:{server.server_address[1]}"
    sts.issuer = args.issuer or base_url
    print(f"LISTENING {base_url}", flush=True)
    serve_until_stopped(server, args.max_lifetime, args.exit_on_stdin_eof, "sts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
