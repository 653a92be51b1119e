"""Websocket consumer pushing events to a logged-in staff member's browser tabs."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from qingquan.core.notifications import user_group


class StaffEventsConsumer(AsyncJsonWebsocketConsumer):
    """Joins the user's group; anything sent there reaches every tab they have open."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=4401)
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def push(self, message: dict[str, Any]) -> None:
        await self.send_json(message["event"])
