"""Names shared by the saga, its activities, order-service and the order view."""

# Saga steps, as recorded in the order's saga record (`completedSteps`, `compensatedSteps`).
INVENTORY_RESERVED = "INVENTORY_RESERVED"
PAYMENT_PROCESSED = "PAYMENT_PROCESSED"
ORDER_CONFIRMED = "ORDER_CONFIRMED"
NOTIFICATION_SENT = "NOTIFICATION_SENT"

# External events the saga waits for.
STOCK_REPLY = "stock-reply"
CANCEL_REQUESTED = "cancel-requested"

# Workflows order-service registers.
ORDER_SAGA = "order_saga"

# Patches of the saga (`ctx.is_patched`), oldest first; a name is never reused. An instance
# replays with the patches its history recorded, so it ends on the path it started on
# (docs/saga-versioning.md). The saga's version is 1 + the number of patches it knows.
LIMIT_CHECK = "limit-check"  # v2: the customer's daily limit, checked before payment
SAGA_PATCHES: tuple[str, ...] = (LIMIT_CHECK,)
SAGA_VERSION = f"v{len(SAGA_PATCHES) + 1}"


class Activity:
    """The names the saga's activities are registered under (workflows/activities.py)."""

    LOAD_SAGA = "load_saga"
    RESERVE_STOCK = "reserve_stock"
    TAKE_PAYMENT = "take_payment"
    REFUND_PAYMENT = "refund_payment"
    RELEASE_STOCK = "release_stock"
    CONFIRM_ORDER = "confirm_order"
    FINISH_CANCELLED = "finish_cancelled"
    RECORD_PROGRESS = "record_progress"
    CHECK_LIMIT = "check_limit"
