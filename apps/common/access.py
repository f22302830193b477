"""Who may call this app: only its own sidecar (the app token), and, for a call another app made
through Dapr, only what the access-control policy of this app's Dapr Configuration
(dapr/<app-id>.yaml) allows that caller.

daprd enforces this policy itself, per caller: the stack runs with mTLS (Dapr Sentry, README
"Security"), so each caller shows the SPIFFE ID of its certificate and daprd refuses what the
policy does not allow before the app is asked. The app checks it again, a second line for a
sidecar started with another Configuration: what it sees is the caller sidecar's
`dapr-caller-app-id` header, set by the caller's sidecar, replacing nothing a client sent (a
client's own header arrives beside it, so two different values mean a forgery and are refused).

The policy is matched the way daprd matches it (pkg/config/acl_trie.go, pkg/acl/acl.go), so with
mTLS on both give the same answer: an operation name matches itself and every path below it,
"/**" anything below, a trailing "/*" one segment; "*" inside a segment any characters; the
first rule met along the path decides; a verb it does not list gets the caller's defaultAction.

Not checked at all: /healthz (daprd's health probes carry no app token, pkg/channel/http
HealthProbe), /readyz (what the stack runner and operators poll) and /metrics (Prometheus):
they answer read-only and hold no customer data.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from apps.common.problems import problem_response

log = logging.getLogger(__name__)

TOKEN_HEADER = "dapr-api-token"
CALLER_HEADER = "dapr-caller-app-id"
CALLER_NAMESPACE_HEADER = "dapr-caller-namespace"
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
CONFIG_DIR = Path(__file__).resolve().parents[2] / "dapr"
ALLOW, DENY = "allow", "deny"
SELF_HOSTED = "default"  # Dapr's namespace outside Kubernetes


@dataclass(frozen=True)
class Rule:
    name: str
    verbs: frozenset[str]
    action: str


@dataclass
class _Node:
    char: str
    rule: Rule | None = None
    children: list[_Node] = field(default_factory=list)


def _glob(target: str, pattern: str) -> bool:
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, target, re.DOTALL) is not None


def _find(nodes: list[_Node], char: str, is_end: bool) -> _Node | None:
    for node in nodes:
        if node.char == char:
            return node
        if node.char == "/*":
            if is_end:
                return node
            continue
        if node.char == "/**" or _glob(char, node.char):
            return node
    return None


class Operations:
    """A port of daprd's operation trie: `search` gives the rule daprd would apply."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.root = _Node("/")
        for rule in rules:
            self._put(rule)

    def _put(self, rule: Rule) -> None:
        parts = rule.name.split("/")
        node = self.root
        for index, part in enumerate(parts[1:], start=1):
            char, last = "/" + part, index == len(parts) - 1
            found = next((n for n in node.children if n.char == char), None)
            if found is None:
                found = _Node(char, rule if last else None)
                node.children.append(found)
            elif last and found.rule is None:
                found.rule = rule
            node = found

    def search(self, operation: str) -> Rule | None:
        node: _Node | None = self.root
        parts = operation.split("/")
        for index, part in enumerate(parts[1:], start=1):
            is_end = index == len(parts) - 1
            node = _find(node.children, "/" + part, is_end) if node else None
            if node is None:
                return None
            if node.rule is not None:
                if not is_end and node.char.endswith("/*") and not node.char.endswith("/**"):
                    continue
                return node.rule
            if is_end:
                wildcard = _find(node.children, "/*", is_end)
                if wildcard is not None and wildcard.rule is not None:
                    return wildcard.rule
        return None


@dataclass(frozen=True)
class AppPolicy:
    default_action: str  # "" when the policy names none: the global default stays
    operations: Operations


@dataclass(frozen=True)
class AccessPolicy:
    default_action: str
    apps: dict[tuple[str, str], AppPolicy]  # (app id, namespace) -> its policy

    @classmethod
    def from_configuration(
        cls, doc: dict[str, Any], namespace: str = SELF_HOSTED
    ) -> AccessPolicy | None:
        """The policy of a Dapr Configuration document, or None if it has none. The files of
        dapr/ name the self-hosted namespace, `default`: read it as `namespace`, the one the
        apps run in (in Kubernetes, the release's; deploy/k8s renders the same lists with it)."""
        spec = (doc.get("spec") or {}).get("accessControl")
        if not spec:
            return None
        policies = spec.get("policies") or []
        default = (spec.get("defaultAction") or (DENY if policies else ALLOW)).lower()
        apps = {}
        for policy in policies:
            rules = [
                Rule(
                    name="/" + str(op["name"]).lower().lstrip("/"),
                    verbs=frozenset(op.get("httpVerb") or ()),
                    action=str(op.get("action", "")).lower(),
                )
                for op in policy.get("operations") or []
            ]
            named = policy["namespace"]
            key = (policy["appId"], namespace if named == SELF_HOSTED else named)
            apps[key] = AppPolicy(str(policy.get("defaultAction", "")).lower(), Operations(rules))
        return cls(default, apps)

    def allows(self, caller: str, namespace: str, verb: str, path: str) -> bool:
        """What daprd decides for `caller` (its identity known) calling `verb path`."""
        action = self.default_action
        policy = self.apps.get((caller, namespace))
        if policy is None:
            return action == ALLOW
        action = policy.default_action or action
        rule = policy.operations.search("/" + path.lower().lstrip("/"))
        if rule is not None and (verb in rule.verbs or "*" in rule.verbs):
            action = rule.action
        return action == ALLOW


def load_policy(
    app_id: str, config_dir: Path = CONFIG_DIR, namespace: str = SELF_HOSTED
) -> AccessPolicy | None:
    path = config_dir / f"{app_id}.yaml"
    if not path.is_file():
        return None
    return AccessPolicy.from_configuration(yaml.safe_load(path.read_text()) or {}, namespace)


def _single(values: list[str]) -> str | None:
    """The one value a header has, or None when it has several different ones (a forgery)."""
    distinct = set(values)
    return values[0] if len(distinct) == 1 else None


class AccessControl:
    """ASGI middleware: refuses a call without the app token (401) and a call another app may
    not make (403), except on OPEN_PATHS, before anything reads the request's body."""

    def __init__(self, app: ASGIApp, app_id: str, token: str, policy: AccessPolicy | None) -> None:
        self.app, self.app_id, self.policy = app, app_id, policy
        self.expected = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        await (refusal or self.app)(scope, receive, send)

    def _refusal(self, scope: Scope) -> ASGIApp | None:
        headers = Headers(scope=scope)
        given = headers.get(TOKEN_HEADER, "").encode()
        if not hmac.compare_digest(given, self.expected):
            return problem_response(
                401, "Unauthorized", f"calls to {self.app_id} need its app token ({TOKEN_HEADER})"
            )
        callers = headers.getlist(CALLER_HEADER)
        if not callers or self.policy is None:
            return None
        caller = _single(callers)
        namespace = _single(headers.getlist(CALLER_NAMESPACE_HEADER) or ["default"])
        if caller is None or namespace is None:
            return problem_response(403, "Forbidden", "conflicting caller identities")
        method, path = scope["method"], scope["path"]
        if caller != self.app_id and not self.policy.allows(caller, namespace, method, path):
            return problem_response(403, "Forbidden", f"{caller} may not call {method} {path}")
        return None


def install_access_control(
    app: FastAPI, app_id: str, token: str | None, policy: AccessPolicy | None
) -> None:
    """Installs AccessControl. No token configured (the public gateway): nothing is checked."""
    if not token:
        log.info("no APP_API_TOKEN: %s accepts calls without an app token", app_id)
        return
    app.add_middleware(AccessControl, app_id=app_id, token=token, policy=policy)
