"""Synthetic GB/T 28181 devices (模拟设备): register with digest, keep alive, answer queries.

Many devices share one SIP endpoint (as behind one NAT or one lower platform); requests from
the platform reach the device named in their To header. Everything here is synthetic: the
User-Agent says so and the registry marks such devices `synthetic`.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field

from cityops.video.gb28181.manscdp import build, catalog_response, read
from cityops.video.sip.digest import authorization
from cityops.video.sip.message import SipRequest, SipResponse, response_to, uri_user
from cityops.video.sip.transaction import (
    ClientTransactions,
    ServerTransactions,
    new_branch,
    new_tag,
)
from cityops.video.sip.transport import Kind, Peer, SipEndpoint

USER_AGENT = "cityops-simulator (synthetic)"
#: Rare characters that garble when a GB18030 body is read as GB2312 (WVP #1344), and beyond.
RARE = ["萳", "㵘", "䶮", "𠮷", "赟", "堃", "喆", "昇", "镕", "玥"]


def device_code(civil: str, type_code: int, serial: int, industry: str = "00") -> str:
    """A synthetic 20-digit code: civil 8, industry 2, type 3, network 0, serial 6."""
    return f"{civil:0<8.8}{industry}{type_code:03d}0{serial % 1_000_000:06d}"


def synthetic_channels(device_id: str, count: int) -> list[dict[str, str]]:
    """Catalog items of a synthetic NVR: cameras with rare characters in their names."""
    civil = device_id[:8]
    items = []
    for n in range(count):
        code = device_code(civil, 131, int(device_id[-6:]) * 1000 + n)[:14] + f"{n:06d}"
        items.append(
            {
                "DeviceID": code,
                "Name": f"模拟摄像机{n + 1}{RARE[n % len(RARE)]}",
                "Manufacturer": "cityops 模拟",
                "Model": "SIM-IPC",
                "Owner": "Owner",
                "CivilCode": civil,
                "Address": f"模拟地址{RARE[(n + 3) % len(RARE)]}",
                "Parental": "0",
                "ParentID": device_id,
                "SafetyWay": "0",
                "RegisterWay": "1",
                "Secrecy": "0",
                "Status": "ON",
                "Longitude": f"{121.20 + (n % 100) * 0.001:.6f}",
                "Latitude": f"{31.00 + (n // 100 % 100) * 0.001:.6f}",
            }
        )
    return items


@dataclass(slots=True)
class SimDevice:
    """One synthetic device: its code, name, and the catalog it answers with."""

    device_id: str
    name: str
    channels: list[dict[str, str]] = field(default_factory=list)
    registered: bool = False
    keepalive_sn: int = 0


class Fleet:
    """Devices on one endpoint talking to one platform."""

    def __init__(
        self,
        server: tuple[str, int],
        *,
        domain: str,
        password: str,
        kind: Kind = "udp",
        packet_items: int = 20,
        host: str = "127.0.0.1",
    ) -> None:
        self.server = server
        self.domain = domain
        self.password = password
        self.kind = kind
        self.packet_items = packet_items
        self.endpoint = SipEndpoint(host, 0, self._on_message)
        self.client = ClientTransactions(self.endpoint)
        self.transactions = ServerTransactions()
        self.devices: dict[str, SimDevice] = {}
        self.peer = Peer(kind, server[0], server[1])
        self.catalogs_sent = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Open the socket (UDP) or the connection (TCP)."""
        await self.endpoint.start(udp=self.kind == "udp", tcp=False)
        if self.kind == "tcp":
            self.peer = await self.endpoint.connect(*self.server)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.endpoint.stop()

    def add(self, device: SimDevice) -> None:
        self.devices[device.device_id] = device

    # --- requests we send ------------------------------------------------------------------

    def _request(self, method: str, device_id: str, body: bytes = b"", **extra: str) -> SipRequest:
        here = f"{self.endpoint.host}:{self.endpoint.port}"
        headers = [
            ("Via", f"SIP/2.0/{self.kind.upper()} {here};rport;branch={new_branch()}"),
            ("From", f"<sip:{device_id}@{self.domain}>;tag={new_tag()}"),
            ("To", f"<sip:{device_id}@{self.domain}>"),
            ("Call-ID", f"{secrets.token_hex(10)}@{self.endpoint.host}"),
            ("CSeq", f"{self.client.next_cseq()} {method}"),
            ("Max-Forwards", "70"),
            ("User-Agent", USER_AGENT),
        ]
        headers += list(extra.items())
        if body:
            headers.append(("Content-Type", "Application/MANSCDP+xml"))
        return SipRequest(
            headers, body, method, f"sip:{self.domain}@{self.server[0]}:{self.server[1]}"
        )

    async def register(
        self, device_id: str, expires: int = 3600, password: str | None = None
    ) -> SipResponse:
        """REGISTER, answer the digest challenge; the final response."""
        contact = f"<sip:{device_id}@{self.endpoint.host}:{self.endpoint.port}>"
        first = self._request("REGISTER", device_id, Contact=contact, Expires=str(expires))
        answer = await self.client.request(first, self.peer)
        if answer.status != 401:
            return answer
        challenge = answer.header("WWW-Authenticate") or ""
        auth = authorization(challenge, device_id, password or self.password, "REGISTER", first.uri)
        second = self._request("REGISTER", device_id, Contact=contact, Expires=str(expires))
        second.set("Call-ID", first.call_id)
        second.headers.append(("Authorization", auth))
        answer = await self.client.request(second, self.peer)
        if answer.status == 200 and device_id in self.devices:
            self.devices[device_id].registered = expires > 0
        return answer

    async def keepalive(self, device_id: str) -> SipResponse:
        """One Notify/Keepalive MESSAGE."""
        device = self.devices[device_id]
        device.keepalive_sn += 1
        body = build("Notify", "Keepalive", device.keepalive_sn, device_id, Status="OK")
        return await self.client.request(self._request("MESSAGE", device_id, body), self.peer)

    async def alarm(
        self, device_id: str, channel_id: str, sn: int, description: str
    ) -> SipResponse:
        """A Notify/Alarm MESSAGE for one channel."""
        body = build(
            "Notify",
            "Alarm",
            sn,
            channel_id,
            AlarmPriority="1",
            AlarmMethod="5",
            AlarmTime="2026-12-07T10:00:00",
            AlarmDescription=description,
        )
        return await self.client.request(self._request("MESSAGE", device_id, body), self.peer)

    # --- requests we answer ----------------------------------------------------------------

    def _on_message(self, message: SipRequest | SipResponse, peer: Peer) -> None:
        if isinstance(message, SipResponse):
            self.client.response(message)
            return
        new, resend = self.transactions.begin(message)
        if not new:  # a retransmission: answer again, act once
            if resend is not None:
                self.endpoint.send(resend, peer)
            return
        device = self.devices.get(uri_user(message.header("To") or ""))
        answer = response_to(message, 200 if device else 404)
        self.transactions.answered(message, answer)
        self.endpoint.send(answer, peer)
        if device is None or message.method != "MESSAGE":
            return
        task = asyncio.ensure_future(self._answer(device, message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, device: SimDevice, request: SipRequest) -> None:
        """Answer a Query: Catalog in packets of `packet_items`, DeviceInfo in one."""
        query = read(request.body)
        if query.cmd_type == "Catalog":
            items, size = device.channels, self.packet_items
            for start in range(0, max(len(items), 1), size):
                body = catalog_response(
                    query.sn, device.device_id, len(items), items[start : start + size]
                )
                await self.client.request(
                    self._request("MESSAGE", device.device_id, body), self.peer
                )
            self.catalogs_sent += 1
        elif query.cmd_type == "DeviceInfo":
            body = build(
                "Response",
                "DeviceInfo",
                query.sn,
                device.device_id,
                DeviceName=device.name,
                Result="OK",
                Manufacturer="cityops 模拟",
                Model="SIM-NVR",
                Firmware="1.0",
                Channel=str(len(device.channels)),
            )
            await self.client.request(self._request("MESSAGE", device.device_id, body), self.peer)
