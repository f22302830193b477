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

# Named versions of the saga (`register_versioned_workflow`), oldest first; the last one is what
# new sagas start as. A history records its version's name and is replayed by that version, so
# a saga ends on the path it started on (docs/saga-versioning.md). v1 is the saga from before
# versions: its histories have no name, and the SDK replays them with the latest version. It is
# a named version too, so that a release can still start new sagas as v1 while it already knows
# v2 (SAGA_LATEST_VERSION: the first step of a rolling upgrade, docs/upgrade.md).
SAGA_VERSIONS = ("v1", "v2")  # v2: the customer's daily limit, checked before payment
SAGA_VERSION = SAGA_VERSIONS[-1]
UNVERSIONED = "v1"
LATEST_VERSION_ENV = "SAGA_LATEST_VERSION"  # what new sagas start as; unset: SAGA_VERSION


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
