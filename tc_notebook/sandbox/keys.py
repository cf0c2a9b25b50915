"""Typed keys of what the aiohttp application and responses carry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    pass

SERVICE = web.AppKey("service", "QueueService")
AUTHENTICATOR = web.AppKey("authenticator", "Authenticator")
OUTPUT_SCHEMAS = web.AppKey("output_schemas", "SchemaSet | None")
STARTED = web.AppKey("started", float)
LIVELOGS = web.AppKey("livelogs", "LiveLogs")
# Set on a prepared JSON response whose body the output schema should check.
VALIDATE_BODY = web.ResponseKey("validate_body", bool)
