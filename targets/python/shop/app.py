"""The HTTP API (FastAPI)."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from typing import Annotated

import stripe
from fastapi import Depends, FastAPI, Header, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from pydantic.alias_generators import to_camel

from .config import Settings
from .db import Order, Store
from .rules import SessionFacts
from .webhooks import RetryLater, WebhookHandler

log = logging.getLogger("shop")


# ----- request and response bodies -----


class CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class NewOrder(CamelModel):
    product_id: str = Field(min_length=1)
    product_name: str = Field(min_length=1)
    amount: StrictInt = Field(gt=0, description="minor units, e.g. 19900 for USD 199.00")
    currency: str = Field(pattern=r"^[A-Za-z]{3}$")
    provider: str = Field(min_length=1)


class OrderOut(CamelModel):
    id: str
    product_id: str
    product_name: str
    amount: int
    currency: str
    provider: str
    status: str
    provider_order_id: str | None
    provider_capture_id: str | None
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, order: Order) -> OrderOut:
        return cls.model_validate(order, from_attributes=True)


class CaptureIn(BaseModel):
    session_id: str = Field(min_length=1)


class CaptureOut(CamelModel):
    order_id: str | None
    session_status: str | None
    payment_status: str | None
    order_status: str | None


# ----- Stripe -----


def configure_stripe(settings: Settings) -> None:
    stripe.api_key = settings.stripe_secret_key
    stripe.api_base = settings.stripe_api_base  # the documented way to use another host
    stripe.max_network_retries = 2


def find_session_by_payment_intent(payment_intent: str) -> SessionFacts | None:
    """The Checkout Session that created this PaymentIntent, asked of Stripe."""
    try:
        sessions = stripe.checkout.Session.list(payment_intent=payment_intent, limit=1)
    except stripe.StripeError as e:
        log.warning("looking up the session of %s failed: %s", payment_intent, e)
        raise RetryLater("could not reach Stripe") from e
    return SessionFacts.from_stripe(sessions.data[0]) if sessions.data else None


# ----- dependencies -----


def get_store(request: Request) -> Store:
    return request.app.state.store


async def raw_body(request: Request) -> bytes:
    # The signature covers the exact bytes Stripe sent, so read them before any parsing.
    return await request.body()


StoreDep = Annotated[Store, Depends(get_store)]
RawBody = Annotated[bytes, Depends(raw_body)]


# ----- the app -----


def create_app(settings: Settings) -> FastAPI:
    configure_stripe(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with ExitStack() as stack:
            path = settings.database_path
            if path is None:
                folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="shop-"))
                path = os.path.join(folder, "shop.sqlite3")
            # A temporary database dies with the process: no need to fsync its commits.
            app.state.store = Store(path, durable=settings.database_path is not None)
            log.info("database %s; Stripe at %s", path, settings.stripe_api_base)
            yield

    app = FastAPI(title="shop", lifespan=lifespan)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/orders", status_code=status.HTTP_201_CREATED, response_model=OrderOut)
    def create_order(body: NewOrder, store: StoreDep) -> OrderOut:
        with store.transaction() as tx:
            order = tx.insert_order(
                product_id=body.product_id.strip(),
                product_name=body.product_name.strip(),
                amount=body.amount,
                currency=body.currency.upper(),
                provider=body.provider.strip(),
            )
        return OrderOut.of(order)

    # Declared before /api/orders/{order_id}, which would otherwise swallow "capture".
    @app.post("/api/orders/capture", response_model=CaptureOut)
    def capture(body: CaptureIn, store: StoreDep) -> CaptureOut:
        """The return page's call: what Stripe says about the session. Never changes the order."""
        try:
            session = stripe.checkout.Session.retrieve(body.session_id)
        except stripe.InvalidRequestError as e:
            if e.http_status == 404:
                raise HTTPException(status.HTTP_404_NOT_FOUND, "checkout session not found") from e
            raise HTTPException(status.HTTP_400_BAD_REQUEST, e.user_message or str(e)) from e
        except stripe.StripeError as e:
            raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"Stripe: {e}") from e
        order_id = getattr(session, "client_reference_id", None)
        with store.read() as tx:
            order = tx.order(order_id) if order_id else None
        return CaptureOut(
            order_id=order_id,
            session_status=getattr(session, "status", None),
            payment_status=getattr(session, "payment_status", None),
            order_status=order.status if order else None,
        )

    @app.get("/api/orders/{order_id}", response_model=OrderOut)
    def get_order(order_id: str, store: StoreDep) -> OrderOut:
        with store.read() as tx:
            order = tx.order(order_id)
        if order is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "order not found")
        return OrderOut.of(order)

    @app.post("/api/webhooks/stripe")
    def stripe_webhook(
        payload: RawBody,
        store: StoreDep,
        stripe_signature: Annotated[str, Header()] = "",
    ) -> dict[str, bool]:
        try:
            # Checks the HMAC of "t.body" against every v1 and the 300 s tolerance.
            event = stripe.Webhook.construct_event(
                payload, stripe_signature, settings.stripe_webhook_secret
            )
        except stripe.SignatureVerificationError as e:
            log.warning("webhook refused: %s", e.user_message or e)
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "invalid signature") from e
        except ValueError as e:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "body must be JSON") from e
        try:
            return WebhookHandler(store, find_session_by_payment_intent).handle(event)
        except RetryLater as e:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"{e}; retry") from e

    return app
