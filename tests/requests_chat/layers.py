"""A channel layer that can be switched off, for the tests of a Redis outage."""

from channels.layers import InMemoryChannelLayer


class FlakyLayer(InMemoryChannelLayer):
    """The in-memory layer, except that while `down` every group, send and new-channel call
    raises (as channels_redis does when Redis is unreachable); `groups_down` fails group_add
    alone (Redis lost between a socket's channel and its groups)."""

    down = False
    groups_down = False

    async def new_channel(self, prefix="specific."):
        self._check()
        return await super().new_channel(prefix)

    def _check(self) -> None:
        if type(self).down:
            raise ConnectionError("Redis is down")

    async def group_add(self, group, channel):
        self._check()
        if type(self).groups_down:
            raise ConnectionError("Redis is down")
        return await super().group_add(group, channel)

    async def group_send(self, group, message):
        self._check()
        return await super().group_send(group, message)

    async def send(self, channel, message):
        self._check()
        return await super().send(channel, message)
