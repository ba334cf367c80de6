"""The benchmark's publisher process: QoS 1 readings at a target rate, the same for both runs.

    python bench/iot_publish.py PORT PREFIX DEVICES_JSON COUNT RATE TS_BASE_MS [plain-topic]

Prints one JSON line: {"published": n, "acked": n, "seconds": s}. With a plain topic every
message goes to that one topic (the raw broker run); otherwise to each device's topic.
"""

from __future__ import annotations

import json
import sys
import threading
import time

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


def main() -> None:
    """Publish COUNT messages, at most RATE per second (0: as fast as possible)."""
    port, prefix, devices_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    count, rate, ts_base = int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
    plain = sys.argv[7] if len(sys.argv) > 7 else None
    with open(devices_path, encoding="utf-8") as handle:
        devices = json.load(handle)  # [[id, owner, token], ...]
    acked = 0
    done = threading.Event()
    lock = threading.Lock()

    # Our own window of unacked messages: paho's internal queue beyond its in-flight limit
    # stalled in a long burst, so publish() is called only when a slot is free.
    window = threading.BoundedSemaphore(1000)

    def on_publish(_c: object, _u: object, _mid: int, _rc: object, _p: object) -> None:
        nonlocal acked
        window.release()
        with lock:
            acked += 1
            if acked >= count:
                done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(2000)
    client.max_queued_messages_set(0)
    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    start = time.perf_counter()
    for i in range(count):
        dev_id, owner, token = devices[i % len(devices)]
        # Each device's readings one millisecond apart: every message is a new (device, key, ts).
        ts = ts_base + i // len(devices)
        payload = orjson.dumps(
            {"token": token, "ts": ts, "values": {"water_level": 2.0 + (i % 97) / 100}}
        )
        topic = plain or f"{prefix}/{owner}/{dev_id}/telemetry"
        window.acquire()
        client.publish(topic, payload, qos=1)
        if rate and i % 200 == 0:
            ahead = i / rate - (time.perf_counter() - start)
            if ahead > 0:
                time.sleep(ahead)
    done.wait(600)
    seconds = time.perf_counter() - start
    client.loop_stop()
    client.disconnect()
    print(json.dumps({"published": count, "acked": acked, "seconds": seconds}), flush=True)


if __name__ == "__main__":
    main()
