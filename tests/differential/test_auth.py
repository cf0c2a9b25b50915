"""Differential scenarios: who may call what. Temporary credentials (plain and
named), authorizedScopes, credentials that do not verify, and the scopes a
403 names."""

from __future__ import annotations

import datetime

import pytest
import taskcluster

from .harness import Ids, Pair, Recorder, Target

pytestmark = pytest.mark.differential


def temporary(issuer: dict[str, str], scopes: list[str], minutes: float = 30,
              name: str | None = None, start_minutes: float = 0) -> dict[str, str]:
    """Temporary credentials issued by `issuer` (the official client makes them)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    start = now + datetime.timedelta(minutes=start_minutes)
    return taskcluster.createTemporaryCredentials(
        issuer["clientId"], issuer["accessToken"], start,
        start + datetime.timedelta(minutes=minutes), scopes, name=name)


def credentials(t: Target, rec: Recorder, ids: Ids) -> None:
    """Temporary credentials and authorizedScopes restrict what a client may do."""
    tq = ids.queue("auth")
    creator_scopes = [
        f"queue:create-task:lowest:{tq}",
        "queue:scheduler-id:tcnb-diff",
        "queue:create-task:project:none",
    ]
    issuer = t.client(ids, "issuer", [*creator_scopes, "queue:cancel-task:*",
                                      f"auth:create-client:tc-notebook-diff/{ids.tag}/named"])
    definition = ids.definition(tq)

    full = t.queue(temporary(issuer, creator_scopes))
    rec("temporary credentials", full.createTask, ids.task("temp"), definition)
    fewer = t.queue(temporary(issuer, creator_scopes[1:]))
    rec("temporary credentials without the queue's scope", fewer.createTask,
        ids.task("denied"), definition)
    beyond = t.queue(temporary(issuer, [*creator_scopes, "queue:rerun-task:*"]))
    rec("temporary credentials beyond the issuer's scopes", beyond.createTask,
        ids.task("denied"), definition)
    expired = t.queue(temporary(issuer, creator_scopes, minutes=5, start_minutes=-30))
    rec("expired temporary credentials", expired.createTask, ids.task("denied"), definition)
    named = t.queue(temporary(issuer, creator_scopes,
                              name=f"tc-notebook-diff/{ids.tag}/named"))
    rec("named temporary credentials", named.createTask, ids.task("named"), definition)
    misnamed = t.queue(temporary(issuer, creator_scopes,
                                 name=f"tc-notebook-diff/{ids.tag}/other"))
    rec("named without auth:create-client", misnamed.createTask, ids.task("denied"),
        definition)

    restricted = t.queue(authorizedScopes=["queue:cancel-task:*"])
    rec("authorizedScopes without create-task", restricted.createTask,
        ids.task("denied"), definition)
    rec("authorizedScopes: cancel allowed", restricted.cancelTask, ids.task("temp"))
    rec("authorizedScopes: anonymous scopes remain", restricted.status, ids.task("temp"))
    client = t.queue(issuer, authorizedScopes=creator_scopes[:2])
    rec("client's authorizedScopes lack the project", client.createTask,
        ids.task("denied"), definition)
    overstep = t.queue(issuer, authorizedScopes=["queue:rerun-task:*"])
    rec("authorizedScopes beyond the client's scopes", overstep.createTask,
        ids.task("denied"), definition)
    rec("authorizedScopes beyond the client's scopes", overstep.status, ids.task("temp"))
    anonymous_only = t.queue(issuer, authorizedScopes=["queue:status:*"])
    rec("authorizedScopes held through the anonymous role", anonymous_only.status,
        ids.task("temp"))
    wrong = t.queue({**issuer, "accessToken": issuer["accessToken"][:-2] + "xx"})
    rec("wrong accessToken on a read", wrong.status, ids.task("temp"))
    rec("wrong accessToken, invalid body", wrong.createTask, ids.task("denied"),
        {**definition, "colour": "red"})
    rec("wrong accessToken, unknown task", wrong.cancelTask, ids.task("unknown"))


def test_credentials(pair: Pair) -> None:
    """Temporary credentials and authorizedScopes are honoured alike."""
    pair.run(credentials)
