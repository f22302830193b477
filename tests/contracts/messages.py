"""What each consumer expects of the messages it consumes (the consumer side of the message
pacts): the CloudEvents envelope daprd delivers, with the attributes the consumers read, around
the message's `data`. One place, used by the consumer tests (which write the pacts) and by the
deliberate-break test."""

from __future__ import annotations

from typing import Any

from pact import match

from tests.contracts.pacts import amount

TRACEPARENT = r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"


def identifier(example: str) -> Any:
    """An id: a string (Pact's regex matcher would pass a number too; the id's pattern is in the
    published schema, which the captured messages are validated against)."""
    return match.str(example)


def cloud_event(topic: str, producer: str, data: dict[str, Any]) -> dict[str, Any]:
    """daprd's envelope: `data` (every consumer), `id` (dead-lettering names it), `traceparent`
    (the consumer's span joins the order's trace), `topic` and `source` (the producing app's id;
    notification-service tells dead letters apart by them)."""
    return {
        "specversion": "1.0",
        "id": match.str("5b3c6a52-8f0e-4d2b-9a57-0c8f7e1d2a44"),
        "source": producer,
        "type": match.str("com.dapr.event.sent"),
        "datacontenttype": match.regex("application/json", regex=r"^application/json"),
        "topic": topic,
        "pubsubname": match.str("orderpubsub"),
        "traceparent": match.regex(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", regex=TRACEPARENT
        ),
        "data": data,
    }


ORDER_ID = "7d2f0c1e9a8b4c3d"
RESERVE_STOCK = {
    "orderId": identifier(ORDER_ID),
    "items": match.each_like({"productId": identifier("contract-book"), "quantity": match.int(2)}),
}
RELEASE_STOCK = {"orderId": identifier(ORDER_ID)}
STOCK_REPLY = {"orderId": identifier(ORDER_ID), "reserved": match.bool(True)}
ORDER_CONFIRMED = {
    "orderId": identifier(ORDER_ID),
    "customerId": identifier("contract-alice"),
    "totalAmount": amount("25.00"),
}
ORDER_CANCELLED = {"orderId": identifier(ORDER_ID), "customerId": identifier("contract-alice")}
DEAD_LETTER = {
    "topic": match.str("reserve-stock"),
    "reason": match.str("invalid ReserveStock: items: Field required"),
    "sourceApp": match.str("inventory-service"),
    "payload": {"orderId": match.str(ORDER_ID)},
}

# (consumer, topic) -> (description, data expected), for each producer of the topic.
EXPECTED: dict[tuple[str, str], dict[str, Any]] = {
    ("inventory-service", "reserve-stock"): RESERVE_STOCK,
    ("inventory-service", "release-stock"): RELEASE_STOCK,
    ("inventory-service", "order-confirmed"): ORDER_CONFIRMED,
    ("inventory-service", "order-cancelled"): ORDER_CANCELLED,
    ("order-service", "stock-replies"): STOCK_REPLY,
    ("notification-service", "order-confirmed"): ORDER_CONFIRMED,
    ("notification-service", "order-cancelled"): ORDER_CANCELLED,
    ("notification-service", "dead-letters"): DEAD_LETTER,
}


def description(topic: str, producer: str) -> str:
    """The interaction's name in the pact: the provider side finds the message by it."""
    return f"the {topic} message from {producer}"
