"""The operator console (apps/gateway/console.py) in Chromium against the real stack: what an
operator sees happen to real orders, and what the console lets each token do."""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from apps.gateway.tokens import Role
from tests.browser.conftest import CONSOLE
from tests.integration.helpers import fund, paused, place, stock, wait_for
from tests.integration.sidecars import publish_as_producer
from tests.integration.test_messages import wait_dead_letter

STEPS = ("INVENTORY_RESERVED", "PAYMENT_PROCESSED", "ORDER_CONFIRMED", "NOTIFICATION_SENT")
APPS = ("gateway", "order-service", "inventory-service", "payment-service", "notification-service")


def test_an_unauthenticated_visit_is_refused(page, anonymous, shots):
    page.goto(CONSOLE)
    expect(page.locator("#signin")).to_be_visible()
    expect(page.locator("#nav")).to_be_hidden()
    # The page holds no data, and the API it calls refuses the browser without a token.
    assert page.evaluate("fetch('/api/v1/order-counts').then(r => r.status)") == 401
    assert anonymous.get("/orders").status_code == 401
    shots(page, "sign-in")
    page.fill("#token", "not-a-token")
    page.click("#signin button[type=submit]")
    expect(page.locator("#notice")).to_contain_text("Refused: invalid bearer token")
    expect(page.locator("#signin")).to_be_visible()
    expect(page.locator("#nav")).to_be_hidden()


def test_an_order_appears_turns_confirmed_and_its_story_is_told(
    api, as_customer, sign_in, unique, shots
):
    product, customer = f"console-book-{unique}", f"console-alice-{unique}"
    stock(api, product, 10)
    fund(api, customer, "100.00")
    page = sign_in()
    page.fill("input[name=search]", customer)
    page.click("#filters button[type=submit]")
    expect(page.locator("#orders tbody")).to_contain_text("no orders")

    placed = place(as_customer(customer), customer, [(product, 2, "12.50")])
    assert placed.status_code == 202, placed.text
    order_id = placed.json()["orderId"]
    row = page.locator(f'#orders tr[data-order-id="{order_id}"]')
    expect(row).to_be_visible()  # the list refreshes itself
    expect(row).to_contain_text("CONFIRMED")
    expect(row).to_contain_text("COMPLETED")
    expect(page.locator('#counts [data-status="CONFIRMED"]')).to_contain_text("1")

    row.locator("a").click()
    for step in STEPS:
        expect(page.locator(f'#timeline li[data-kind="step"][data-name="{step}"]')).to_be_visible()
    expect(page.locator("#timeline li.compensation")).to_have_count(0)
    expect(page.locator("#order-total")).to_have_text("25.00")
    expect(page.locator("#payments")).to_contain_text("CHARGED")
    expect(page.locator("#notifications")).to_contain_text("ORDER_CONFIRMED")
    trace_id = api.get(f"/orders/{order_id}").json()["traceId"]
    expect(page.locator("#trace-link")).to_have_attribute(
        "href", re.compile(f"/traces/{trace_id}$")
    )
    page.click("#show-logs")
    expect(page.locator("#logs pre.logs")).to_contain_text("order-service.log")
    expect(page.locator("#logs pre.logs")).to_contain_text("gateway")
    shots(page, "order")


def test_a_declined_payment_shows_the_compensation(api, as_customer, sign_in, unique, shots):
    product, customer = f"console-lamp-{unique}", f"console-bob-{unique}"
    stock(api, product, 10)
    fund(api, customer, "1.00")  # not enough
    placed = place(as_customer(customer), customer, [(product, 1, "30.00")])
    assert placed.status_code == 202, placed.text
    page = sign_in()
    page.goto(f"{CONSOLE}#/order/{placed.json()['orderId']}")
    expect(page.locator("#order-status")).to_have_text("CANCELLED")
    expect(page.locator("#saga-status")).to_have_text("COMPENSATED")
    timeline = page.locator("#timeline")
    expect(timeline.locator('li[data-kind="step"][data-name="INVENTORY_RESERVED"]')).to_be_visible()
    expect(timeline.locator('li[data-kind="saga"][data-name="COMPENSATING"]')).to_be_visible()
    undo = timeline.locator('li[data-kind="compensation"][data-name="INVENTORY_RESERVED"]')
    expect(undo).to_be_visible()
    expect(timeline.locator('li[data-kind="saga"][data-name="COMPENSATED"]')).to_be_visible()
    expect(timeline.locator('li[data-name="PAYMENT_PROCESSED"]')).to_have_count(0)
    expect(page.locator("#failure-reason")).to_contain_text("declined")
    expect(page.locator("#payments")).to_contain_text("DECLINED")
    expect(page.locator("#notifications")).to_contain_text("ORDER_CANCELLED")
    shots(page, "order-compensated")
    # Everyone's orders, newest first: this one at the top, with the counts above.
    page.goto(f"{CONSOLE}#/orders")
    newest = page.locator("#orders tbody tr").first
    expect(newest).to_have_attribute("data-order-id", placed.json()["orderId"])
    expect(newest).to_contain_text("CANCELLED")
    expect(page.locator('#counts [data-status="CANCELLED"]')).to_be_visible()
    shots(page, "orders")


def test_a_dead_letter_is_shown_with_its_payload_and_redriven(api, sign_in, unique, shots):
    poison = {"orderId": 12345, "items": f"console-not-a-list-{unique}"}
    publish_as_producer("reserve-stock", poison)
    letter = wait_dead_letter(api, f"console-not-a-list-{unique}")
    page = sign_in()
    page.goto(f"{CONSOLE}#/act")
    row = page.locator(f'#dead-letters tr[data-letter-id="{letter["id"]}"]')
    expect(row).to_contain_text("reserve-stock")
    expect(row).to_contain_text(f"console-not-a-list-{unique}")
    expect(row).to_contain_text("inventory-service")
    shots(page, "act")
    row.get_by_role("button", name="Redrive").click()
    expect(row.locator(".redriven")).to_be_visible()
    expect(page.locator("#notice")).to_contain_text(f"dead letter {letter['id']} redriven")
    redriven = [d for d in api.get("/dead-letters").json()["items"] if d["id"] == letter["id"]]
    assert redriven[0]["redrivenAt"] is not None


def test_a_stuck_order_is_found_and_driven_to_its_end(api, as_customer, sign_in, unique):
    product, customer = f"console-kettle-{unique}", f"console-fay-{unique}"
    stock(api, product, 5)
    fund(api, customer, "50.00")
    page = sign_in()
    page.goto(f"{CONSOLE}#/act")
    with paused("inventory-service"):  # no stock reply: the saga waits, its record idles
        placed = place(as_customer(customer), customer, [(product, 1, "5.00")])
        order_id = placed.json()["orderId"]
        deadline = time.monotonic() + 15
        while order_id not in stuck_ids(api, idle_seconds=1):
            assert time.monotonic() < deadline, f"order {order_id} never listed as stuck"
            time.sleep(0.2)
        page.fill("#stuck-form input[name=idleSeconds]", "1")
        page.click("#stuck-form button")
        row = page.locator(f'#stuck tr[data-order-id="{order_id}"]')
        expect(row).to_contain_text("PENDING")
        row.get_by_role("button", name="Drive to an end").click()
        expect(page.locator("#notice")).to_contain_text(f"order {order_id}: saga resumed")
    # The resumed saga goes on once inventory answers, to an end.
    assert wait_for(api, order_id)["status"] in ("CONFIRMED", "CANCELLED")


def stuck_ids(api, idle_seconds: int) -> set[str]:
    found = api.get("/stuck-orders", params={"idleSeconds": idle_seconds, "limit": 200})
    return {o["orderId"] for o in found.json()["items"]}


def test_stock_and_balances_are_viewed_and_set(api, sign_in, unique):
    product, customer = f"console-pen-{unique}", f"console-carol-{unique}"
    page = sign_in()
    page.goto(f"{CONSOLE}#/act")
    page.fill("#stock input[name=productId]", product)
    page.fill("#stock input[name=available]", "7")
    page.click("#stock button[value=set]")
    expect(page.locator("#stock-result")).to_contain_text("7")
    assert api.get(f"/inventory/{product}").json()["available"] == 7
    page.fill("#balance input[name=customerId]", customer)
    page.fill("#balance input[name=balance]", "42.50")
    page.click("#balance button[value=set]")
    expect(page.locator("#balance-result")).to_contain_text("42.50")
    assert api.get(f"/accounts/{customer}").json()["balance"] == "42.50"


def test_live_health_shows_every_service_and_the_breaker(sign_in, shots):
    page = sign_in()
    page.goto(f"{CONSOLE}#/health")
    for app_id in APPS:
        expect(page.locator(f'#services tr[data-app="{app_id}"]')).to_contain_text("ok")
    expect(page.locator("#breaker .badge")).to_have_text(re.compile("^(closed|unknown)$"))
    # The sagas of this session's earlier tests, from order-service's metrics.
    expect(page.locator('#health [data-metric="started"] b')).to_have_text(re.compile(r"^[1-9]"))
    expect(page.locator("#p95 b")).to_have_text(re.compile(r"^\d+\.\d\d s$"))
    shots(page, "health")


def test_a_customer_sees_its_own_orders_only_and_cannot_act(api, as_customer, sign_in, unique):
    product = f"console-mug-{unique}"
    stock(api, product, 10)
    mine, theirs = f"console-dan-{unique}", f"console-eve-{unique}"
    for customer in (mine, theirs):
        fund(api, customer, "10.00")
    own = place(as_customer(mine), mine, [(product, 1, "2.00")]).json()["orderId"]
    other = place(as_customer(theirs), theirs, [(product, 1, "2.00")]).json()["orderId"]
    page = sign_in(mine, Role.CUSTOMER)
    expect(page.locator(f'#orders tr[data-order-id="{own}"]')).to_be_visible()
    expect(page.locator(f'#orders tr[data-order-id="{other}"]')).to_have_count(0)
    expect(page.locator('nav a[data-view="act"]')).to_be_hidden()
    page.goto(f"{CONSOLE}#/order/{other}")
    expect(page.locator("#notice")).to_contain_text("404")
    page.goto(f"{CONSOLE}#/act")
    expect(page.locator("#notice")).to_contain_text("403")
