"""STS: ``AssumeRoleWithWebIdentity`` is granted only when the role's trust policy admits the token's claims.

moto issues credentials for any web identity token. AWS evaluates the role's trust policy: a statement allowing
``sts:AssumeRoleWithWebIdentity`` to the OIDC provider of the token's issuer (``Principal.Federated``), whose
``StringEquals``/``StringLike`` conditions on ``<provider>:<claim>`` keys (``aud``, ``sub``) hold for the token
(https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html; GitHub's ``sub`` is
``repo:<owner>/<repo>:ref:refs/heads/<branch>``, ``...:environment:<name>`` or ``...:pull_request``,
https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect).
The sandbox checks exactly that, offline: the token's signature is not verified (there is no issuer to ask), its
claims are. Condition operators other than StringEquals/StringLike (and their ForAnyValue forms) deny.
"""

from __future__ import annotations

import base64
import fnmatch
import json
from typing import Any
from urllib.parse import parse_qs, urlparse


def claims_of(token: str) -> dict[str, Any]:
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}


def _values(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def trust_allows(doc: dict[str, Any], claims: dict[str, Any]) -> tuple[bool, str]:
    host = urlparse(str(claims.get("iss", ""))).netloc or str(claims.get("iss", ""))
    statements = doc.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    reasons = []
    for st in statements:
        actions = _values(st.get("Action", []))
        federated = _values((st.get("Principal") or {}).get("Federated", []))
        if st.get("Effect") != "Allow" or "sts:AssumeRoleWithWebIdentity" not in actions:
            continue
        if not any(f.endswith(f":oidc-provider/{host}") for f in federated):
            reasons.append(f"no statement trusts the OIDC provider {host}")
            continue
        ok = True
        for operator, pairs in (st.get("Condition") or {}).items():
            base = operator.split(":", 1)[-1]
            if base not in ("StringEquals", "StringLike"):
                ok, _ = False, reasons.append(f"condition operator {operator} is not evaluated by the sandbox")
                break
            for key, expected in pairs.items():
                claim = claims.get(key.split(":", 1)[1]) if key.startswith(f"{host}:") else None
                if claim is None:
                    ok = False
                    reasons.append(f"the token has no claim for {key}")
                    break
                match = (lambda a, b: a == b) if base == "StringEquals" else fnmatch.fnmatchcase
                if not any(match(str(claim), e) for e in _values(expected)):
                    ok = False
                    reasons.append(f"{key} is {claim!r}, the trust policy requires {_values(expected)}")
                    break
            if not ok:
                break
        if ok:
            return True, ""
    return False, "; ".join(reasons) or "no statement allows sts:AssumeRoleWithWebIdentity"


def assume_role_with_web_identity(gw, call):
    from . import iam

    form = {k: v[0] for k, v in parse_qs(call.body.decode("utf-8", "replace")).items()}
    role_arn, token = form.get("RoleArn", ""), form.get("WebIdentityToken", "")
    try:
        ref = iam.RoleRef.parse(role_arn)
        role = iam._backend(ref.account).get_role(ref.name)
    except Exception:  # noqa: BLE001 - let moto answer for roles it does not know
        return gw.forward(call)
    doc = role.assume_role_policy_document
    doc = json.loads(doc) if isinstance(doc, str) else doc
    allowed, why = trust_allows(doc, claims_of(token))
    if not allowed:
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not authorized to "
                f"perform sts:AssumeRoleWithWebIdentity ({why})</Message></Error><RequestId>sandbox</RequestId>"
                f"</ErrorResponse>").encode()
        return gw.reply(403, body, [("Content-Type", "text/xml")])
    return gw.forward(call)


HOOKS = {("sts", "AssumeRoleWithWebIdentity"): assume_role_with_web_identity}
