"""A small shop that takes payments through Stripe Payment Links, following the payment spec.

FastAPI for HTTP, the official ``stripe`` package for the API and webhook signatures, and SQLite
through the standard library. Webhooks are the source of truth; the return route only reads.
"""
