"""Calling a sidecar or an app of the running stack directly, as an operator holding the run's
tokens does (deploy/stack/secrets.py). Ports come from dapr.yaml, as the stack runner reads it."""

from __future__ import annotations

import json
import os
from functools import cache

import httpx

from deploy.stack.paths import ROOT
from deploy.stack.runfile import AppSpec, load_runfile
from deploy.stack.secrets import app_headers, dapr_headers

PUBSUB = "orderpubsub"


@cache
def spec(app_id: str) -> AppSpec:
    specs = load_runfile(ROOT / "dapr.yaml", os.environ.get("PROFILE", "sqlite"))
    return next(s for s in specs if s.app_id == app_id)


def sidecar_url(app_id: str) -> str:
    return f"http://127.0.0.1:{spec(app_id).http_port}"


def app_url(app_id: str) -> str:
    return f"http://127.0.0.1:{spec(app_id).app_port}"


def sidecar(app_id: str, *, token: bool = True, timeout: float = 15) -> httpx.Client:
    """A client of `app_id`'s sidecar, with its token unless `token` is False."""
    headers = dapr_headers(app_id) if token else {}
    return httpx.Client(base_url=sidecar_url(app_id), headers=headers, timeout=timeout)


def app(app_id: str, *, token: bool = True, timeout: float = 15) -> httpx.Client:
    """A client of the app `app_id` itself, with its app token unless `token` is False."""
    headers = app_headers(app_id) if token else {}
    return httpx.Client(base_url=app_url(app_id), headers=headers, timeout=timeout)


def invoke(
    via: str,
    target: str,
    verb: str,
    method: str,
    body: object = None,
    params: dict[str, str] | None = None,
    token: bool = True,
) -> httpx.Response:
    """Invokes `target`'s `method` through `via`'s sidecar: as `via` would call it."""
    with sidecar(via, token=token) as client:
        url = f"/v1.0/invoke/{target}/method/{method}"
        return client.request(verb, url, json=body, params=params)


def publish(
    via: str, topic: str, data: object, key: str | None = None, token: bool = True
) -> httpx.Response:
    """Publishes through `via`'s sidecar, as that app would."""
    params = {"metadata.partitionKey": key} if key else None
    with sidecar(via, token=token, timeout=10) as client:
        return client.post(f"/v1.0/publish/{PUBSUB}/{topic}", json=data, params=params)


# The app whose sidecar may publish each topic (components/common/pubsub.yaml): tests that forge
# a message publish it as its producer would.
PRODUCER = {
    "reserve-stock": "order-service",
    "release-stock": "order-service",
    "order-confirmed": "order-service",
    "order-cancelled": "order-service",
    "stock-replies": "inventory-service",
    "dead-letters": "inventory-service",
}


def publish_as_producer(topic: str, data: object, key: str | None = None) -> None:
    resp = publish(PRODUCER[topic], topic, data, key)
    assert resp.status_code == 204, resp.text


def _field(number: int, wire: int, payload: bytes | int) -> bytes:
    """One protobuf field: a varint (wire 0) or length-delimited bytes (wire 2)."""

    def varint(n: int) -> bytes:
        out = b""
        while True:
            low, n = n & 0x7F, n >> 7
            if not n:
                return out + bytes([low])
            out += bytes([low | 0x80])

    if isinstance(payload, int):
        return varint(number << 3 | wire) + varint(payload)
    return varint(number << 3 | wire) + varint(len(payload)) + payload


def call_internal(
    port: int, verb: str, method: str, body: object, caller: str, trust: bytes | None = None
) -> bytes:
    """What another sidecar sends to a sidecar's internal gRPC API (CallLocal), naming `caller`
    as the calling app: an InternalInvokeRequest (dapr/proto/internals/v1), no token, no client
    certificate; in plain text, or over TLS trusting the CA certificate `trust` (PEM). Returns
    the raw InternalInvokeResponse; raises grpc.RpcError if refused."""
    import grpc
    from dapr.proto.common.v1 import common_pb2

    message = common_pb2.InvokeRequest(
        method=method,
        content_type="application/json",
        http_extension=common_pb2.HTTPExtension(verb=getattr(common_pb2.HTTPExtension.Verb, verb)),
    )
    message.data.value = json.dumps(body).encode()
    headers = {"dapr-caller-app-id": caller, "content-type": "application/json"}
    metadata = b"".join(
        _field(2, 2, _field(1, 2, key.encode()) + _field(2, 2, _field(1, 2, value.encode())))
        for key, value in headers.items()
    )
    request = _field(1, 0, 1) + metadata + _field(3, 2, message.SerializeToString())  # ver=V1
    target = f"127.0.0.1:{port}"
    channel = (
        grpc.insecure_channel(target)
        if trust is None
        else grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=trust))
    )
    with channel:
        call = channel.unary_unary(
            "/dapr.proto.internals.v1.ServiceInvocation/CallLocal",
            request_serializer=lambda b: b,
            response_deserializer=lambda b: b,
        )
        return call(request, timeout=10)
