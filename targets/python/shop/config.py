"""Settings from the environment (the twelve-factor way)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping


class ConfigError(RuntimeError):
    """A required setting is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    port: int
    stripe_secret_key: str
    stripe_webhook_secret: str
    stripe_api_base: str
    app_url: str
    # None: a fresh SQLite file in a temporary folder, removed when the app stops.
    database_path: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise ConfigError(f"{name} is required")
            return value

        try:
            port = int(env.get("PORT", "3000"))
        except ValueError as e:
            raise ConfigError(f"PORT must be a number: {e}") from None
        return cls(
            port=port,
            stripe_secret_key=required("STRIPE_SECRET_KEY"),
            stripe_webhook_secret=required("STRIPE_WEBHOOK_SECRET"),
            stripe_api_base=env.get("STRIPE_API_BASE") or "https://api.stripe.com",
            app_url=env.get("NEXT_PUBLIC_APP_URL") or "http://localhost:3000",
            database_path=env.get("DATABASE_PATH") or None,
        )
