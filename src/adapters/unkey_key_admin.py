"""KeyAdmin on Unkey (API v2): operators create, list, view, patch, top up, reroll and revoke
keys. Reads go to `keys.getKey`, so a view reflects Unkey's database at once; verification may
lag a change by up to 30 s while Unkey's edge caches catch up (shared/UNKEY.md).

Listing filters by plan client-side (the plan is in `meta.plan`, which Unkey cannot filter
on): Unkey pages are asked for no more keys than the page still needs, so the page can end
on Unkey's own cursor and nothing is skipped or repeated; a page may come back short (even
empty) with a cursor when matches are sparse.
"""

from __future__ import annotations

from adapters import unkey_admin_protocol as admin
from adapters import unkey_protocol as unkey
from adapters.unkey_http import AsyncUnkey
from domain.errors import Conflict
from domain.models import IssuedKey
from domain.operators import CreditChange, CreditOperation, KeyPatch, KeySpec, KeyView

MAX_UNKEY_PAGES_PER_LIST = 5


class UnkeyKeyAdmin:
    """On an AsyncUnkey connection, which may be shared with the UnkeyQuotaProvider; whoever
    made the connection closes it (`AsyncUnkey.aclose()`)."""

    def __init__(self, connection: AsyncUnkey, *, api_id: str, recoverable: bool = False) -> None:
        self._unkey, self._api_id, self._recoverable = connection, api_id, recoverable

    async def create(self, spec: KeySpec) -> tuple[IssuedKey, KeyView]:
        body = admin.create_key(self._api_id, spec, recoverable=self._recoverable)
        created = await self._unkey.run(unkey.call(unkey.CREATE_KEY, body, unkey.CreatedKey))
        credits = spec.plan.credits if spec.credits is None else spec.credits
        issued = IssuedKey(key=created.key, key_id=created.key_id, credits=credits)
        view = await self.get(created.key_id)
        if view is None:  # deleted in between: still the key that was made
            raise Conflict("the new key was deleted before it could be read")
        return issued, view

    async def get(self, key_id: str) -> KeyView | None:
        details = await self._unkey.run(unkey.get_key(key_id))
        return None if details is None else admin.key_view(details)

    async def list(
        self, *, plan: str | None, external_id: str | None, cursor: str | None, limit: int
    ) -> tuple[list[KeyView], str | None]:
        views: list[KeyView] = []
        for _ in range(MAX_UNKEY_PAGES_PER_LIST):
            body = admin.list_keys(
                self._api_id, external_id=external_id, cursor=cursor, limit=limit - len(views)
            )
            page = await self._unkey.run(
                unkey.call(unkey.LIST_KEYS, body, admin.KeyPage, enveloped=False)
            )
            found = (admin.key_view(details) for details in page.data)
            views += [view for view in found if plan is None or view.plan == plan]
            cursor = page.pagination.cursor if page.pagination.has_more else None
            if cursor is None or len(views) >= limit:
                break
        return views, cursor

    async def update(self, key_id: str, patch: KeyPatch) -> KeyView | None:
        current = await self._unkey.run(unkey.get_key(key_id))
        if current is None:
            return None
        body = admin.update_key(key_id, patch, current)
        if len(body) > 1:  # anything besides keyId
            updated = await self._unkey.run(unkey.call_on_key(unkey.UPDATE_KEY, body, unkey.Empty))
            if updated is None:
                return None
        return await self.get(key_id)

    async def update_credits(
        self, key_id: str, operation: CreditOperation, value: int, *, reason: str | None = None
    ) -> CreditChange | None:
        body = admin.update_credits(key_id, operation, value)
        current = await self._unkey.run(unkey.get_key(key_id))
        if current is None:
            return None
        before = current.credits.remaining if current.credits else None
        if before is None and operation is not CreditOperation.SET:
            raise Conflict(f"an unlimited key has no balance to {operation.value}")
        changed = await self._unkey.run(
            unkey.call_on_key(unkey.UPDATE_CREDITS, body, unkey.KeyCredits)
        )
        if changed is None or changed.remaining is None:
            return None
        return CreditChange(before=before, after=changed.remaining)

    async def reroll(self, key_id: str, grace_seconds: int) -> IssuedKey | None:
        body = admin.reroll_key(key_id, grace_seconds)
        created = await self._unkey.run(unkey.call_on_key(unkey.REROLL_KEY, body, unkey.CreatedKey))
        if created is None:
            return None
        details = await self._unkey.run(unkey.get_key(created.key_id))
        remaining = details.credits.remaining if details and details.credits else None
        return IssuedKey(key=created.key, key_id=created.key_id, credits=remaining or 0)

    async def revoke(self, key_id: str) -> bool:
        return await self._unkey.run(unkey.delete_key(key_id)) is not None
