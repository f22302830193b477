"""Every topic: the message it carries (a model in apps/common/contracts.py), who publishes it
and who consumes it. The published schemas are generated from this table; a unit test checks it
against the pub/sub scopes in components/common/pubsub.yaml."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from apps.common.contracts import (
    DEAD_LETTERS,
    ORDER_CANCELLED,
    ORDER_CONFIRMED,
    RELEASE_STOCK,
    RESERVE_STOCK,
    STOCK_REPLIES,
    OrderCancelled,
    OrderConfirmed,
    ReleaseStock,
    ReserveStock,
    StockReply,
)
from apps.common.pubsub import DeadLetterEnvelope

ORDER_SERVICE, INVENTORY, NOTIFICATIONS = (
    "order-service",
    "inventory-service",
    ("notification-service"),
)


@dataclass(frozen=True)
class Topic:
    name: str
    model: type[BaseModel]
    summary: str
    producers: tuple[str, ...]
    consumers: tuple[str, ...]


TOPICS: tuple[Topic, ...] = (
    Topic(
        RESERVE_STOCK,
        ReserveStock,
        "Command: hold every line of an order, or none.",
        (ORDER_SERVICE,),
        (INVENTORY,),
    ),
    Topic(
        RELEASE_STOCK,
        ReleaseStock,
        "Command (saga compensation): give back whatever an order holds.",
        (ORDER_SERVICE,),
        (INVENTORY,),
    ),
    Topic(
        STOCK_REPLIES,
        StockReply,
        "Reply to reserve-stock: reserved, or not with a reason.",
        (INVENTORY,),
        (ORDER_SERVICE,),
    ),
    Topic(
        ORDER_CONFIRMED,
        OrderConfirmed,
        "Event: an order is confirmed (sale final, customer told).",
        (ORDER_SERVICE,),
        (INVENTORY, NOTIFICATIONS),
    ),
    Topic(
        ORDER_CANCELLED,
        OrderCancelled,
        "Event: an order is cancelled (stock given back, customer told).",
        (ORDER_SERVICE,),
        (INVENTORY, NOTIFICATIONS),
    ),
    Topic(
        DEAD_LETTERS,
        DeadLetterEnvelope,
        "A message its consumer can never handle, forwarded by that consumer with the reason. "
        "(A sidecar whose delivery retries ran out forwards the original CloudEvent instead; "
        "the project's retry policy has no limit, so only a deployment that bounds it sees one.)",
        (ORDER_SERVICE, INVENTORY, NOTIFICATIONS),
        (NOTIFICATIONS,),
    ),
)

# notification-service's redrive (an operator's action) publishes a kept payload to its original
# topic again: it is a producer of these too, with the original producer's payload.
REDRIVER = NOTIFICATIONS


def topic(name: str) -> Topic:
    return next(t for t in TOPICS if t.name == name)


class CloudEvent(BaseModel):
    """The envelope daprd wraps every published message in (CloudEvents 1.0, JSON). The consumers
    read `data`, `id` and `traceparent`; notification-service also `topic` and `source` (the
    producing app's id) of a dead letter. Other attributes daprd sets are allowed."""

    model_config = ConfigDict(extra="allow", title="CloudEvent")
    specversion: str = Field(pattern=r"^1\.0$")
    id: str = Field(min_length=1)
    source: str = Field(min_length=1, description="the publishing app's id")
    type: str = Field(min_length=1)
    datacontenttype: str = Field(pattern=r"^application/json")
    topic: str = Field(min_length=1, description="the topic it was published to")
    pubsubname: str = Field(min_length=1)
    traceparent: str | None = Field(default=None, description="W3C trace context of the publisher")
    data: JsonValue
