"""Names shared by the saga, its activities and the order view."""

INVENTORY_RESERVED = "INVENTORY_RESERVED"
PAYMENT_PROCESSED = "PAYMENT_PROCESSED"
ORDER_CONFIRMED = "ORDER_CONFIRMED"
NOTIFICATION_SENT = "NOTIFICATION_SENT"

# External events the saga waits for.
STOCK_REPLY = "stock-reply"
CANCEL_REQUESTED = "cancel-requested"
