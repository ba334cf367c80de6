"""NATS JetStream as the event bus across worker processes (`CITYOPS_BUS_URL=nats://…`).

`names` fixes subjects and streams, `consumer` runs one durable pull consumer per subscriber
(explicit ack, redelivery, dead letters), `relay` keeps events in the transactional outbox
until they are on the stream, `bus` puts them together behind `kit.bus.Bus`.
"""

from cityops.kit.jetstream.bus import JetStreamBus
from cityops.kit.jetstream.names import Names, msg_id

__all__ = ["JetStreamBus", "Names", "msg_id"]
