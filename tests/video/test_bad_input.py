"""Bad input on the SIP ports is answered properly (400, 403, 413) and never stops the server."""

from __future__ import annotations

import asyncio

from cityops.video.sip.message import SipResponse, parse
from tests.video.memory_store import MemoryStore, sync
from tests.video.test_upper import nvr, running

GOOD_HEADERS = (
    "Via: SIP/2.0/{kind} 127.0.0.1:9;rport;branch=z9hG4bK{branch}\r\n"
    "From: <sip:31011710001180000077@3101170000>;tag=x\r\n"
    "To: <sip:31011710001180000077@3101170000>\r\n"
    "Call-ID: bad-{branch}\r\n"
)


class Catcher(asyncio.DatagramProtocol):
    """Collects the datagrams a raw UDP client receives."""

    def __init__(self) -> None:
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.replies.put_nowait(data)


async def udp_exchange(port: int, payloads: list[bytes]) -> list[SipResponse | None]:
    """Send each payload; the answer to each (None when the server rightly stays silent)."""
    loop = asyncio.get_running_loop()
    transport, catcher = await loop.create_datagram_endpoint(
        Catcher, remote_addr=("127.0.0.1", port)
    )
    answers: list[SipResponse | None] = []
    try:
        for payload in payloads:
            transport.sendto(payload)
            try:
                data = await asyncio.wait_for(catcher.replies.get(), 2)
            except TimeoutError:
                answers.append(None)
                continue
            reply = parse(data)
            assert isinstance(reply, SipResponse)
            answers.append(reply)
    finally:
        transport.close()
    return answers


def request(
    method: str, branch: str, *, extra: str = "", body: bytes = b"", kind: str = "UDP"
) -> bytes:
    head = f"{method} sip:31011700002000000001@3101170000 SIP/2.0\r\n"
    head += GOOD_HEADERS.format(kind=kind, branch=branch) + f"CSeq: 1 {method}\r\n{extra}"
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


@sync
async def test_malformed_and_oversized_udp_are_answered_and_the_server_lives() -> None:
    store = MemoryStore()
    async with running(store) as (platform, fleet):
        silent, missing_cseq = (
            b"\x00\xff garbage",
            request("REGISTER", "1").replace(b"CSeq: 1 REGISTER\r\n", b""),
        )
        bad_length = request("MESSAGE", "2").replace(b"Content-Length: 0", b"Content-Length: 99")
        many = request("REGISTER", "3", extra="X-Pad: 1\r\n" * 150)
        long_line = request("REGISTER", "4", extra="X-Long: " + "a" * 5000 + "\r\n")
        unknown = request("SUBSCRIBE", "5")
        answers = await udp_exchange(
            platform.port, [silent, missing_cseq, bad_length, many, long_line, unknown]
        )
        statuses = [a.status if a else None for a in answers]
        # garbage and a request without CSeq cannot be routed an answer: silence (RFC 3261 §18.2.1)
        assert statuses == [None, None, 400, 413, 413, 405]
        assert "Content-Length" in (answers[2].header("Warning") or "")  # type: ignore[union-attr]
        device = nvr(77, 0)
        fleet.add(device)
        assert (await fleet.register(device.device_id)).status == 200  # still serving


@sync
async def test_bad_bodies_and_unknown_devices_over_udp() -> None:
    store = MemoryStore()
    async with running(store) as (_platform, fleet):
        device = nvr(78, 0)
        fleet.add(device)
        assert (await fleet.register(device.device_id)).status == 200
        not_xml = fleet._request("MESSAGE", device.device_id, b"<Notify><CmdType>Keep")
        assert (await fleet.client.request(not_xml, fleet.peer)).status == 400
        stranger = fleet._request("MESSAGE", "31011710001180000999", b"<Notify/>")
        assert (await fleet.client.request(stranger, fleet.peer)).status == 403
        assert (await fleet.keepalive(device.device_id)).status == 200


@sync
async def test_oversized_tcp_message_gets_413_and_the_connection_closes() -> None:
    store = MemoryStore()
    async with running(store, "tcp") as (platform, fleet):
        reader, writer = await asyncio.open_connection("127.0.0.1", platform.port)
        huge = request("MESSAGE", "6", kind="TCP").replace(
            b"Content-Length: 0", b"Content-Length: 10000000"
        )
        writer.write(huge)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        assert head.startswith(b"SIP/2.0 413 ")
        assert await asyncio.wait_for(reader.read(), 30) == b""  # closed by the server
        writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", platform.port)
        writer.write(b"X" * 70_000)  # no header end at all
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 30) == b""
        writer.close()
        device = nvr(79, 3)
        fleet.add(device)
        assert (await fleet.register(device.device_id)).status == 200  # still serving TCP
        await store.until(lambda: device.device_id in store.catalogs)
