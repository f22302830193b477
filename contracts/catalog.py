"""Every topic: the message it carries (a model in apps/common/contracts.py), its current version
and compatibility rule, who publishes it and who consumes it. The published schemas are generated
from this table (the current version; earlier ones stay as published, contracts/schemas/<topic>/);
a unit test checks it against the pub/sub scopes in components/common/pubsub.yaml."""

from __future__ import annotations

import enum
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


class Rule(enum.StrEnum):
    """What a new version of a topic's message must keep (checked against every earlier one).
    Consumers ignore properties they do not know (apps.common.pubsub.parse_message)."""

    BACKWARD = "backward"  # new consumers read old messages: upgrade the consumers first
    FORWARD = "forward"  # old consumers read new messages: upgrade the producers first
    FULL = "full"  # both: any order, e.g. a rolling upgrade with messages in flight


@dataclass(frozen=True)
class Topic:
    name: str
    model: type[BaseModel]
    summary: str
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    # The version `model` is (contracts/schemas/<name>/v<version>.json): raise it for any change
    # to the message, then `make contracts`.
    version: int = 1
    rule: Rule = Rule.FULL


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
        version=2,  # v2: confirmedAt (notification-service measures the customer's wait)
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
        # Its one consumer keeps whatever arrives; three producers: upgrade it first.
        rule=Rule.BACKWARD,
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
