"""Ostrog's own schemathesis check, loaded with SCHEMATHESIS_HOOKS=ostrog_checks.

An operation may answer 2xx only to a caller whose permissions admit it: its
`x-permission` in the OpenAPI document is "public", "authenticated",
"visitor" (a widget visitor's token, never an employee), "metrics-token"
(the monitoring token, never an employee), "channel-secret" (a messenger
proving itself with a channel's secret, never an employee) or a list of permissions any one
of which admits. The scan runs once per role; OSTROG_SCAN_ROLE names it and
OSTROG_SCAN_PERMISSIONS lists what that role holds, comma-separated.
"""

import os

import schemathesis

ROLE = os.environ.get("OSTROG_SCAN_ROLE", "unknown")
HELD = {p for p in os.environ.get("OSTROG_SCAN_PERMISSIONS", "").split(",") if p}


def admits(permission):
    if permission in ("public", "authenticated"):
        return True
    if permission in ("visitor", "metrics-token", "channel-secret"):
        return False
    if isinstance(permission, list):
        return any(p in HELD for p in permission)
    raise AssertionError(f"malformed x-permission {permission!r}")


@schemathesis.check
def permission_respected(ctx, response, case):
    permission = case.operation.definition.raw.get("x-permission")
    if 200 <= response.status_code < 300 and not admits(permission):
        raise AssertionError(
            f"{case.operation.method.upper()} {case.operation.path} answered {response.status_code} "
            f"to the {ROLE}, whose permissions lack {permission}"
        )


@schemathesis.serializer("application/csp-report")
def csp_report(ctx, value):
    """Browsers send CSP violation reports as JSON under this media type."""
    import json

    return json.dumps(value).encode()
