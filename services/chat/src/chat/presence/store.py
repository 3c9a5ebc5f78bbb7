"""Who is online in a team: a user is online while at least one socket of theirs is open in one
of the team's rooms, on any replica.

Each replica counts its own sockets per (team, user) and tells the store only about the first
open and the last close, plus a periodic refresh; the store answers whether the user's state
*changed*, so a change is announced once and a heartbeat never is.

- :class:`MemoryPresence` (no REDIS_URL): one node, the local counts are the truth.
- :class:`RedisPresence`: ``vc:chat:presence:<team>:<user>`` is a hash of replica id → expiry
  (ms), refreshed every ttl/3 by each replica holding a socket of the user; the team's set
  ``vc:chat:presence:<team>`` lists the users that may be online. A replica that dies stops
  refreshing; its entries expire and the next sweep (any replica, atomic in Lua, so exactly one
  reports it) turns the user offline.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Protocol


class PresenceStore(Protocol):
    async def connect(self, team_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        """This replica now holds a socket of the user in the team; True if they came online."""

    async def disconnect(self, team_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        """This replica holds no more sockets of the user; True if they went offline."""

    async def refresh(self, entries: list[tuple[uuid.UUID, uuid.UUID]]) -> None: ...

    async def sweep(self) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """(team, user) pairs whose every entry expired: they went offline."""

    async def online(self, team_id: uuid.UUID) -> list[uuid.UUID]: ...


class MemoryPresence:
    def __init__(self) -> None:
        self._online: dict[uuid.UUID, set[uuid.UUID]] = {}

    async def connect(self, team_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        users = self._online.setdefault(team_id, set())
        if user_id in users:
            return False
        users.add(user_id)
        return True

    async def disconnect(self, team_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        users = self._online.get(team_id, set())
        if user_id not in users:
            return False
        users.discard(user_id)
        if not users:
            self._online.pop(team_id, None)
        return True

    async def refresh(self, entries: list[tuple[uuid.UUID, uuid.UUID]]) -> None:
        del entries

    async def sweep(self) -> list[tuple[uuid.UUID, uuid.UUID]]:
        return []

    async def online(self, team_id: uuid.UUID) -> list[uuid.UUID]:
        return sorted(self._online.get(team_id, set()))


_LIVE = """
local function live(key, now, skip)
  local n = 0
  local flat = redis.call('HGETALL', key)
  for i = 1, #flat, 2 do
    if flat[i] ~= skip and tonumber(flat[i + 1]) > now then n = n + 1 end
  end
  return n
end
"""

_CONNECT = (
    _LIVE
    + """
local key, team, teams = KEYS[1], KEYS[2], KEYS[3]
local instance, expiry, now, ttl, user = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local before = live(key, now, instance)
redis.call('HSET', key, instance, expiry)
redis.call('PEXPIRE', key, ttl)
redis.call('SADD', team, user)
redis.call('SADD', teams, team)
if before == 0 then return 1 end
return 0
"""
)

_DISCONNECT = (
    _LIVE
    + """
local key, team = KEYS[1], KEYS[2]
local instance, now, user = ARGV[1], tonumber(ARGV[2]), ARGV[3]
if redis.call('HDEL', key, instance) == 0 then return 0 end
if live(key, now, '') > 0 then return 0 end
redis.call('DEL', key)
redis.call('SREM', team, user)
return 1
"""
)

_SWEEP = (
    _LIVE
    + """
local teams, now, prefix = KEYS[1], tonumber(ARGV[1]), ARGV[2]
local gone = {}
for _, team in ipairs(redis.call('SMEMBERS', teams)) do
  local users = redis.call('SMEMBERS', team)
  if #users == 0 then redis.call('SREM', teams, team) end
  for _, user in ipairs(users) do
    local key = team .. ':' .. user
    if live(key, now, '') == 0 then
      redis.call('DEL', key)
      redis.call('SREM', team, user)
      table.insert(gone, string.sub(team, string.len(prefix) + 1) .. ':' .. user)
    end
  end
end
return gone
"""
)

_ONLINE = (
    _LIVE
    + """
local team, now = KEYS[1], tonumber(ARGV[1])
local out = {}
for _, user in ipairs(redis.call('SMEMBERS', team)) do
  if live(team .. ':' .. user, now, '') > 0 then table.insert(out, user) end
end
return out
"""
)


class RedisPresence:
    PREFIX = "vc:chat:presence:"

    def __init__(self, redis: Any, *, ttl: float, instance: str | None = None) -> None:
        self.redis = redis
        self.ttl_ms = int(ttl * 1000)
        self.instance = instance or uuid.uuid4().hex
        self._connect = redis.register_script(_CONNECT)
        self._disconnect = redis.register_script(_DISCONNECT)
        self._sweep = redis.register_script(_SWEEP)
        self._online = redis.register_script(_ONLINE)

    def _team(self, team_id: uuid.UUID) -> str:
        return f"{self.PREFIX}{team_id}"

    def _key(self, team_id: uuid.UUID, user_id: uuid.UUID) -> str:
        return f"{self.PREFIX}{team_id}:{user_id}"

    @staticmethod
    def _now() -> int:
        return int(time.time() * 1000)

    async def connect(self, team_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        now = self._now()
        res = await self._connect(
            keys=[self._key(team_id, user_id), self._team(team_id), self.PREFIX + "teams"],
            args=[self.instance, now + self.ttl_ms, now, self.ttl_ms, str(user_id)],
        )
        return bool(int(res))

    async def disconnect(self, team_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        res = await self._disconnect(
            keys=[self._key(team_id, user_id), self._team(team_id)],
            args=[self.instance, self._now(), str(user_id)],
        )
        return bool(int(res))

    async def refresh(self, entries: list[tuple[uuid.UUID, uuid.UUID]]) -> None:
        if not entries:
            return
        expiry = self._now() + self.ttl_ms
        async with self.redis.pipeline(transaction=False) as pipe:
            for team_id, user_id in entries:
                key = self._key(team_id, user_id)
                pipe.hset(key, self.instance, expiry)
                pipe.pexpire(key, self.ttl_ms)
                pipe.sadd(self._team(team_id), str(user_id))
                pipe.sadd(self.PREFIX + "teams", self._team(team_id))
            await pipe.execute()

    async def sweep(self) -> list[tuple[uuid.UUID, uuid.UUID]]:
        res = await self._sweep(keys=[self.PREFIX + "teams"], args=[self._now(), self.PREFIX])
        out = []
        for item in res or []:
            text = item.decode() if isinstance(item, bytes) else str(item)
            team, _, user = text.partition(":")
            out.append((uuid.UUID(team), uuid.UUID(user)))
        return out

    async def online(self, team_id: uuid.UUID) -> list[uuid.UUID]:
        res = await self._online(keys=[self._team(team_id)], args=[self._now()])
        return sorted(uuid.UUID(u.decode() if isinstance(u, bytes) else str(u)) for u in res or [])
