"""How the fake Unkey shows a key: verifyKey's fields and the key object of getKey and
listKeys (vendor spec: identity carries its `id`; absent values are left out, not null)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fakes.unkey_state import FakeKey, FakeWorkspace


def to_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


class KeyAnswers:
    def _identity(self: FakeWorkspace, key: FakeKey) -> dict[str, Any] | None:
        if key.external_id is None:
            return None
        return {"id": self.identities[key.external_id], "externalId": key.external_id}

    def _verify_fields(self: FakeWorkspace, key: FakeKey) -> dict[str, Any]:
        fields: dict[str, Any] = {"keyId": key.key_id, "enabled": key.enabled}
        optional = {
            "name": key.name,
            "credits": key.remaining,
            "expires": key.expires_ms,
            "meta": key.meta,
            "identity": self._identity(key),
            "permissions": key.permissions or None,
            "roles": key.roles or None,
        }
        fields.update({name: value for name, value in optional.items() if value is not None})
        return fields

    def key_fields(self: FakeWorkspace, key: FakeKey, *, decrypt: bool = False) -> dict[str, Any]:
        """The key object of getKey and listKeys."""
        data: dict[str, Any] = {
            "keyId": key.key_id,
            "start": key.start,
            "createdAt": to_ms(key.created_at),
            "enabled": key.enabled,
            "credits": self.credit_fields(key),
        }
        optional = {
            "name": key.name,
            "meta": key.meta,
            "expires": key.expires_ms,
            "updatedAt": to_ms(key.updated_at) if key.updated_at else None,
            "identity": self._identity(key),
            "permissions": key.permissions or None,
            "roles": key.roles or None,
            "plaintext": key.plaintext if decrypt else None,
        }
        data.update({name: value for name, value in optional.items() if value is not None})
        return data

    @staticmethod
    def credit_fields(key: FakeKey) -> dict[str, Any]:
        credits: dict[str, Any] = {"remaining": key.remaining}
        if key.refill is not None:
            credits["refill"] = dict(key.refill)
        return credits
