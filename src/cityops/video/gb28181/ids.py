"""20-digit GB/T 28181 codes (统一编码, GB/T 28181-2016 Appendix D, table D.1).

Layout: centre code 8 (province 2, city 2, district 2, base unit 2 = the civil code),
industry 2, type 3, network 1, serial 6. Types (table D.1): 111–130 front-end main devices
(111 DVR, 112 video server, 113 encoder, 118 NVR …), 131–199 front-end peripherals and channels
(131 camera, 132 IP camera, 134 alarm input …), 200–299 platform devices (200 central signalling
control server = a platform, 215 business group, 216 virtual organisation), 300–399 centre
users, 400–499 terminal users, 500–999 extensions. Codes of 2, 4, 6 or 8 digits are civil
regions (行政区划) in a catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """What a code names, by its type digits."""

    DEVICE = "device"  # 111–130
    CHANNEL = "channel"  # 131–199
    PLATFORM = "platform"  # 200
    BUSINESS_GROUP = "business_group"  # 215
    VIRTUAL_ORG = "virtual_org"  # 216
    PLATFORM_OTHER = "platform_other"  # 201–299 but 215, 216
    USER = "user"  # 300–499
    EXTENSION = "extension"  # 500–999
    REGION = "region"  # a civil code of 2–8 digits


@dataclass(frozen=True, slots=True)
class GbId:
    """A valid code, split into its parts."""

    code: str
    kind: Kind

    @property
    def civil_code(self) -> str:
        """The centre code (8 digits), or the region code itself."""
        return self.code[:8]

    @property
    def type_code(self) -> str:
        return self.code[10:13] if len(self.code) == 20 else ""


class InvalidId(ValueError):
    """A code that is not a GB/T 28181 code; the message says why."""


def kind_of(type_code: int) -> Kind:
    """The kind named by the 3 type digits (10–12, zero-based)."""
    if 111 <= type_code <= 130:
        return Kind.DEVICE
    if 131 <= type_code <= 199:
        return Kind.CHANNEL
    if type_code == 200:
        return Kind.PLATFORM
    if type_code == 215:
        return Kind.BUSINESS_GROUP
    if type_code == 216:
        return Kind.VIRTUAL_ORG
    if 201 <= type_code <= 299:
        return Kind.PLATFORM_OTHER
    if 300 <= type_code <= 499:
        return Kind.USER
    if type_code >= 500:
        return Kind.EXTENSION
    raise InvalidId(f"type {type_code:03d} is reserved (digits 11–13 must be 111 or more)")


def parse_id(code: str, *, regions: bool = False) -> GbId:
    """Validate a code; `regions` also accepts civil codes of 2, 4, 6 or 8 digits."""
    if not code.isascii() or not code.isdigit():
        raise InvalidId("a code has digits only")
    if regions and len(code) in (2, 4, 6, 8):
        return GbId(code, Kind.REGION)
    if len(code) != 20:
        raise InvalidId(f"a code has 20 digits, this one {len(code)}")
    if code[:2] == "00":
        raise InvalidId("digits 1–2 (province) cannot be 00")
    return GbId(code, kind_of(int(code[10:13])))


def is_valid(code: str, *, regions: bool = False) -> bool:
    """Whether a code passes parse_id."""
    try:
        parse_id(code, regions=regions)
    except InvalidId:
        return False
    return True
