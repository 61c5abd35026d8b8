"""The fake Unkey's operator endpoints: keys.updateKey, apis.listKeys, keys.rerollKey and
keys.whoami (vendor spec `unkey-v2-operators`), as a mixin of FakeWorkspace."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from tests.fakes import unkey_checks as check
from tests.fakes.unkey_checks import bad_request

if TYPE_CHECKING:
    from tests.fakes.unkey_state import FakeWorkspace

_UPDATABLE = {"name", "externalId", "meta", "expires", "credits", "ratelimits", "enabled"}
_CLEARED_BY_NULL = {
    "name": "name",
    "externalId": "external_id",
    "meta": "meta",
    "expires": "expires_ms",
}


class AdminOperations:
    # --- keys.updateKey -------------------------------------------------------------------

    def update_key(self: FakeWorkspace, body: dict[str, Any]) -> dict[str, Any]:
        """Partial: an omitted field is kept, null clears it (credits: null = unlimited)."""
        allowed = _UPDATABLE | {"keyId", "roles", "permissions"}
        check.fields(body, "body", allowed, {"keyId"})
        with self.lock:
            key = self.lookup(body)
            updated = replace(key, roles=list(key.roles), permissions=list(key.permissions))
            for name, attribute in _CLEARED_BY_NULL.items():
                if name in body and body[name] is None:
                    setattr(updated, attribute, None)
            if "ratelimits" in body and body["ratelimits"] is None:
                updated.ratelimits = []
            self._apply_settings(updated, body)  # validates before anything changes
            if "enabled" in body:
                updated.enabled = check.boolean(body["enabled"], "body.enabled")
            if "credits" in body:
                self._update_credit_settings(updated, body["credits"])
            updated.updated_at = self.clock.now()
            self.keys[key.key_id] = updated
        return {}

    @staticmethod
    def _update_credit_settings(key: Any, credits: Any) -> None:
        if credits is None:
            key.remaining, key.refill = None, None
            return
        check.fields(credits, "body.credits", {"remaining", "refill"}, set())
        if "remaining" in credits:
            key.remaining = check.remaining(credits["remaining"], "body.credits.remaining")
            if key.remaining is None:
                key.refill = None
        if credits.get("refill") is not None:
            if key.remaining is None:
                raise bad_request("body.credits.refill", "an unlimited key cannot refill")
            key.refill = check.refill(credits["refill"], "body.credits.refill")
        elif "refill" in credits:
            key.refill = None

    # --- apis.listKeys --------------------------------------------------------------------

    def list_keys(self: FakeWorkspace, body: dict[str, Any]) -> dict[str, Any]:
        """Keys in key-id order after `cursor` (the last key id of the previous page).

        The server puts `pagination` beside `data`, so this answers both."""
        allowed = {"apiId", "limit", "cursor", "externalId", "decrypt", "revalidateKeysCache"}
        check.fields(body, "body", allowed, {"apiId"})
        check.string(body["apiId"], "body.apiId", min_length=1)
        limit = check.integer(body.get("limit", 100), "body.limit", 1, 100)
        cursor = check.string(body.get("cursor", ""), "body.cursor")
        external_id = body.get("externalId")
        if external_id is not None:
            check.string(external_id, "body.externalId", min_length=1)
        decrypt = check.boolean(body.get("decrypt", False), "body.decrypt")
        check.boolean(body.get("revalidateKeysCache", False), "body.revalidateKeysCache")
        if body["apiId"] != self.api_id:
            raise check.not_found(f"API {body['apiId']!r}")
        with self.lock:
            ids = sorted(key_id for key_id in list(self.keys) if key_id > cursor)
            matching = [
                key
                for key in (self.alive(key_id) for key_id in ids)
                if key is not None and (external_id is None or key.external_id == external_id)
            ]
            page = matching[:limit]
            for key in page:
                self._refill(key)
            pagination: dict[str, Any] = {"hasMore": len(matching) > limit}
            if pagination["hasMore"]:
                pagination["cursor"] = page[-1].key_id
            data = [self.key_fields(key, decrypt=decrypt) for key in page]
        return {"data": data, "pagination": pagination}

    # --- keys.rerollKey and keys.whoami ---------------------------------------------------

    def reroll_key(self: FakeWorkspace, body: dict[str, Any]) -> dict[str, Any]:
        """A new key with the old one's settings and balance; the old one goes after
        `expiration` ms. The schema does not close this body: unknown fields are ignored."""
        check.fields(body, "body", set(body), {"keyId", "expiration"})
        grace = check.integer(body["expiration"], "body.expiration", 0, check.MAX_EXPIRES_MS)
        with self.lock:
            old = self.lookup(body)
            new = copy.deepcopy(old)
            new.key_id, new.created_at, new.updated_at = (
                "key_" + check.random_key(12),
                self.clock.now(),
                None,
            )
            new.revoke_at_ms = None
            key = self._issue(new, recoverable=old.plaintext is not None)
            self._store(new)
            if grace == 0:
                self._forget(old)
            else:
                old.revoke_at_ms = self.now_ms() + grace
        return {"keyId": new.key_id, "key": key}

    def whoami(self: FakeWorkspace, body: dict[str, Any]) -> dict[str, Any]:
        check.fields(body, "body", {"key"}, {"key"})
        check.string(body["key"], "body.key", min_length=1, max_length=512)
        with self.lock:
            key = self.find(body["key"])
            if key is None:
                raise check.not_found("the key")
            self._refill(key)
            return self.key_fields(key)
