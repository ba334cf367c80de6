"""Queries the upper platform sends to a registered device (GB/T 28181-2016 §9.5, A.2.4):
Catalog (answered in several MESSAGEs), DeviceInfo and DeviceStatus (one answer each).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
from typing import TYPE_CHECKING

from cityops.video.gb28181.catalog import Catalog, CatalogCollector
from cityops.video.gb28181.manscdp import Command, build
from cityops.video.sip.message import SipRequest
from cityops.video.sip.transaction import ClientTransactions, new_branch, new_tag

if TYPE_CHECKING:
    from cityops.video.gb28181.upper import UpperPlatform

log = logging.getLogger(__name__)
CONTENT_TYPE = "Application/MANSCDP+xml"


class DeviceUnavailable(LookupError):
    """The device is not registered or not online."""


class Queries:
    """Sends MANSCDP queries and matches their answers by device and SN."""

    def __init__(
        self, platform: UpperPlatform, client: ClientTransactions, catalogs: CatalogCollector
    ) -> None:
        self.platform = platform
        self.client = client
        self.catalogs = catalogs
        self._sn = itertools.count(secrets.randbelow(100_000) + 1)
        self._answers: dict[tuple[str, int], asyncio.Future[Command]] = {}
        self._waited: set[tuple[str, int]] = set()

    def message(self, device_id: str, body: bytes) -> SipRequest:
        """A MESSAGE to a registered device, over the transport it registered on."""
        session = self.platform.sessions.get(device_id)
        if session is None or not session.online:
            raise DeviceUnavailable(device_id)
        config, peer = self.platform.config, session.peer
        here = f"{config.advertised_host}:{self.platform.port}"
        headers = [
            ("Via", f"SIP/2.0/{peer.kind.upper()} {here};rport;branch={new_branch()}"),
            ("From", f"<sip:{config.platform_id}@{config.domain}>;tag={new_tag()}"),
            ("To", f"<sip:{device_id}@{config.domain}>"),
            ("Call-ID", f"{secrets.token_hex(12)}@{config.advertised_host}"),
            ("CSeq", f"{self.client.next_cseq()} MESSAGE"),
            ("Max-Forwards", "70"),
            ("User-Agent", "cityops"),
            ("Content-Type", CONTENT_TYPE),
        ]
        uri = f"sip:{device_id}@{peer.host}:{peer.port}"
        return SipRequest(headers, body, "MESSAGE", uri)

    async def _send(self, device_id: str, cmd_type: str) -> int:
        """Send a Query of a type; its SN (the device answers 200, then a Response MESSAGE)."""
        sn = next(self._sn)
        request = self.message(device_id, build("Query", cmd_type, sn, device_id))
        if cmd_type == "Catalog":
            self.catalogs.expect(device_id, sn)
            self._waited.add((device_id, sn))
        peer = self.platform.sessions[device_id].peer
        response = await self.client.request(request, peer)
        if response.status >= 300:
            raise DeviceUnavailable(f"{device_id} answered {response.status}")
        return sn

    async def catalog(self, device_id: str) -> Catalog:
        """Ask for the catalog, gather every packet, hand it to the store."""
        sn = await self._send(device_id, "Catalog")
        try:
            catalog = await self.catalogs.wait(device_id, sn)
        finally:
            self._waited.discard((device_id, sn))
        await self.platform.store.catalog(catalog)
        return catalog

    async def single(self, device_id: str, cmd_type: str, within: float = 10.0) -> Command:
        """DeviceInfo, DeviceStatus …: one answer."""
        sn = next(self._sn)
        future: asyncio.Future[Command] = asyncio.get_running_loop().create_future()
        self._answers[(device_id, sn)] = future
        try:
            request = self.message(device_id, build("Query", cmd_type, sn, device_id))
            peer = self.platform.sessions[device_id].peer
            response = await self.client.request(request, peer)
            if response.status >= 300:
                raise DeviceUnavailable(f"{device_id} answered {response.status}")
            return await asyncio.wait_for(future, within)
        finally:
            self._answers.pop((device_id, sn), None)

    async def device_info(self, device_id: str) -> Command:
        """Ask DeviceInfo and record it."""
        answer = await self.single(device_id, "DeviceInfo")
        await self.platform.store.device_info(device_id, answer.fields)
        return answer

    def answer(self, device_id: str, command: Command) -> None:
        """A Response MESSAGE: a catalog packet or the answer to a single query."""
        if command.cmd_type == "Catalog":
            catalog = self.catalogs.add(command, device_id)
            if (
                catalog is not None
                and catalog.complete
                and (device_id, command.sn) not in self._waited
            ):
                self.platform.spawn(self.platform.store.catalog(catalog))  # unsolicited
            return
        future = self._answers.get((device_id, command.sn))
        if future is not None and not future.done():
            future.set_result(command)

    async def after_register(self, device_id: str) -> None:
        """What WVP and most platforms do on a new registration: DeviceInfo, then Catalog."""
        try:
            await self.device_info(device_id)
        except (TimeoutError, DeviceUnavailable, ConnectionError) as exc:
            log.info("video: DeviceInfo of %s: %r", device_id, exc)
        try:
            await self.catalog(device_id)
        except (TimeoutError, DeviceUnavailable, ConnectionError) as exc:
            log.info("video: Catalog of %s: %r", device_id, exc)
