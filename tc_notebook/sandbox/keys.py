"""Typed keys of what the aiohttp application and responses carry."""

from __future__ import annotations

from aiohttp import web

SERVICE = web.AppKey("service", "QueueService")  # the queue, for routes outside its API
BLOBS = web.AppKey("blobs", "BlobStore")
AUTHENTICATOR = web.AppKey("authenticator", "Authenticator")
STARTED = web.AppKey("started", float)
LIVELOG_RELAY = web.AppKey("livelog_relay", "LiveLogRelay")
# Set on a prepared JSON response whose body the output schema should check.
VALIDATE_BODY = web.ResponseKey("validate_body", bool)
