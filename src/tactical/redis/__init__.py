"""Redis Streams: a publisher (XADD) and consumer groups (XREADGROUP, XACK, XAUTOCLAIM).

[`RedisBroker`][tactical.redis.RedisBroker] is a [`Broker`][tactical.Broker]: it publishes
envelopes as stream entries (fields ``data``, ``id``, ``type``, ``version``,
``occurred_at``) and hands out [`RedisSubscription`][tactical.redis.RedisSubscription]s for
a [`Consumer`][tactical.Consumer] to run: acknowledgement after the handler returned,
reclaim of entries a crashed consumer left pending, a delivery cap and a dead-letter stream
``<stream>:dead-letter``. It works with Redis 7.0 and later. Install the ``redis`` extra.
"""

try:
    import redis
except ImportError as error:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError("tactical.redis needs redis-py: pip install 'tactical[redis]'") from error

from tactical.redis._broker import RedisBroker, check_eviction_policy
from tactical.redis._subscription import RedisSubscription

del redis

__all__ = ["RedisBroker", "RedisSubscription", "check_eviction_policy"]
