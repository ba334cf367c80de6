"""The raw anchor's subscriber: a paho QoS 1 subscriber that counts, with nothing behind it.

    python bench/iot_subscribe.py PORT TOPIC COUNT

Prints "ready" once subscribed, then one JSON line {"received": n, "at": monotonic time}.
"""

from __future__ import annotations

import json
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


def main() -> None:
    """Count COUNT messages, then report when the last one came."""
    port, topic, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    received = 0
    done = threading.Event()

    def on_message(_c: object, _u: object, _m: object) -> None:
        nonlocal received
        received += 1
        if received >= count:
            done.set()

    def on_subscribe(*_args: object) -> None:
        print("ready", flush=True)

    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_message = on_message
    client.on_subscribe = on_subscribe
    client.on_connect = lambda c, *_a: c.subscribe(topic, qos=1)
    client.connect("127.0.0.1", port)
    client.loop_start()
    done.wait(600)
    at = time.monotonic()
    client.loop_stop()
    print(json.dumps({"received": received, "at": at}), flush=True)


if __name__ == "__main__":
    main()
