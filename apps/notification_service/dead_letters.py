"""Dead letters: kept with their topic, reason and raw payload, listed, and redriven on demand.

Two kinds arrive on `dead-letters`:
- a `DeadLetterEnvelope` a consumer published for a message it can never handle (its
  CloudEvent's `topic` is `dead-letters`; apps/common/pubsub.py);
- the original CloudEvent, unchanged, that a sidecar forwarded after its delivery retries ran
  out (its `topic` is still the original topic, `data` the original payload; the consumer that
  gave up is not in it). The project's inbound retry policy has no limit, so this comes only
  from a deployment that bounds it (components/common/resiliency-pubsub.yaml).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select, update

from apps.common.contracts import (
    DEAD_LETTERS,
    ORDER_CANCELLED,
    ORDER_CONFIRMED,
    RELEASE_STOCK,
    RESERVE_STOCK,
    STOCK_REPLIES,
)
from apps.common.dapr import DaprClient, SidecarError
from apps.common.db import Database, rows_changed
from apps.common.problems import Problem
from apps.common.pubsub import DeadLetterEnvelope
from apps.notification_service.store import DeadLetter, iso_utc, utcnow

log = logging.getLogger(__name__)
RETRIES_EXHAUSTED = "delivery retries exhausted"
NOT_AN_ENVELOPE = "published straight to dead-letters, not as a dead-letter envelope"
# Only the platform's own topics: a forged envelope must not make us publish anywhere else.
REDRIVABLE = {RESERVE_STOCK, RELEASE_STOCK, STOCK_REPLIES, ORDER_CONFIRMED, ORDER_CANCELLED}


def from_event(event: dict[str, Any]) -> DeadLetter:
    """The dead letter a CloudEvent received on `dead-letters` describes."""
    topic, data = event.get("topic"), event.get("data")
    event_id = event.get("id") if isinstance(event.get("id"), str) else None
    if topic != DEAD_LETTERS:
        return DeadLetter(
            topic=topic if isinstance(topic, str) else None,
            reason=RETRIES_EXHAUSTED,
            payload=json.dumps(data),
            event_id=event_id,
        )
    try:
        envelope = DeadLetterEnvelope.model_validate(data)
    except ValidationError:
        source = event.get("source")
        return DeadLetter(
            topic=DEAD_LETTERS,
            reason=NOT_AN_ENVELOPE,
            source_app=source if isinstance(source, str) else None,
            payload=json.dumps(data),
            event_id=event_id,
        )
    return DeadLetter(
        topic=envelope.topic,
        reason=envelope.reason,
        source_app=envelope.source_app,
        payload=json.dumps(envelope.payload),
        event_id=event_id,
    )


def keep(db: Database, letter: DeadLetter) -> bool:
    """Stores the letter; False when this very message was kept before (a redelivery)."""
    with db.session() as s:
        s.add(letter)
        try:
            s.commit()
        except IntegrityError:
            return False
    log.warning("dead letter from %s: %s", letter.topic, letter.reason)
    return True


def newest(db: Database, limit: int) -> list[DeadLetter]:
    with db.session() as s:
        query = select(DeadLetter).order_by(col(DeadLetter.id).desc()).limit(limit)
        return list(s.exec(query).all())


def redrive(db: Database, dapr: DaprClient, letter_id: int) -> DeadLetter:
    """Publishes the payload to its original topic again, once: a second redrive of the same
    letter is a 409 naming when it was redriven (nothing is published twice). A redriven
    message that fails again comes back as a new dead letter."""
    now = utcnow()
    with db.session() as s:
        letter = s.get(DeadLetter, letter_id)
        if letter is None:
            raise Problem(404, "Dead letter not found", f"no dead letter {letter_id}")
        if letter.topic not in REDRIVABLE:
            raise Problem(
                409, "Dead letter cannot be redriven", f"its topic is {letter.topic or 'unknown'}"
            )
        claimed = rows_changed(
            s.execute(
                update(DeadLetter)
                .where(col(DeadLetter.id) == letter_id)
                .where(col(DeadLetter.redriven_at).is_(None))
                .values(redriven_at=now)
            )
        )
        s.commit()
        if not claimed:
            s.refresh(letter)
            when = iso_utc(letter.redriven_at) if letter.redriven_at else "just now"
            raise Problem(409, "Dead letter already redriven", f"redriven at {when}")
    payload = json.loads(letter.payload)
    order_id = payload.get("orderId") if isinstance(payload, dict) else None
    try:
        dapr.publish(letter.topic, payload, key=order_id if isinstance(order_id, str) else None)
    except SidecarError as exc:
        _unclaim(db, letter_id)
        raise Problem(503, "Redrive failed", "the sidecar refused the publish; try again") from exc
    log.info("redrove dead letter %s to %s", letter_id, letter.topic)
    letter.redriven_at = now
    return letter


def _unclaim(db: Database, letter_id: int) -> None:
    with db.session() as s:
        s.execute(
            update(DeadLetter).where(col(DeadLetter.id) == letter_id).values(redriven_at=None)
        )
        s.commit()


def view(letter: DeadLetter) -> dict[str, Any]:
    return {
        "id": letter.id,
        "topic": letter.topic,
        "reason": letter.reason,
        "sourceApp": letter.source_app,
        "payload": letter.payload,
        "receivedAt": iso_utc(letter.received_at),
        "redrivenAt": iso_utc(letter.redriven_at) if letter.redriven_at else None,
    }
