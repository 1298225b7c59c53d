"""The conversation, on no particular platform: one module per flow, wired into one router.

`build_router` registers the flows in a deliberate order: the screen that stops
what a person without consent may not do comes first; inside the flows, the
first command or button pattern that matches wins; the fallbacks come last.
"""

from __future__ import annotations

from handlers import (
    approvals,
    availability,
    broadcast,
    candidates,
    checkins,
    completion,
    coordinator,
    demands,
    digest,
    engagement_checkins,
    engagements,
    enterprise,
    exports,
    fallback,
    gate,
    match_command,
    matches,
    privacy,
    profile,
    proposals,
    specialist,
    start,
    units,
    vouchers,
    worklog,
)
from handlers.core.router import Router

FLOWS = (
    start,
    privacy,
    coordinator,
    digest,
    exports,
    broadcast,
    match_command,
    enterprise,
    demands,
    profile,
    specialist,
    availability,
    approvals,
    checkins,
    proposals,
    candidates,
    matches,
    engagements,
    worklog,
    completion,
    engagement_checkins,
    vouchers,
    units,
)


def build_router() -> Router:
    router = Router()
    gate.register(router)
    for flow in FLOWS:
        flow.register(router)
    fallback.register(router)
    return router
