"""MANSCDP XML bodies (GB/T 28181-2016 Appendix A): decode, encode, read commands.

Devices often declare GB2312 and send GBK, GB18030 or UTF-8 (WVP-GB28181-pro #1344: rare
characters garbled), so the declaration is ignored and the body is read as GB18030 (⊇ GBK ⊇
GB2312) — except when it is valid UTF-8 whose every non-ASCII character is CJK text: GB18030
decoding almost never fails, so it alone would garble every UTF-8 device. GBK bytes that happen
to be valid UTF-8 decode to Latin, Cyrillic … (a GBK "一" is UTF-8 "һ"), which the CJK test
refuses (tests/video/test_gb28181.py checks every basic ideograph). Replacement is the last resort. We write GB2312 when every
character fits, GB18030 otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeTree

MAX_ITEMS_PER_MESSAGE = 1000
_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*\?>", re.IGNORECASE)


class BadBody(ValueError):
    """A body that is not a MANSCDP document we can read."""


def decode(body: bytes) -> str:
    """The text of a body, its XML declaration removed (see the module doc for the rule)."""
    match = _DECLARATION.match(body)
    if match:
        body = body[match.end() :]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if all(ch.isascii() or _cjk(ord(ch)) for ch in text):
            return text
    try:
        return body.decode("gb18030")
    except UnicodeDecodeError:
        return body.decode("gb18030", errors="replace")


#: Code points of Chinese text: CJK punctuation, radicals, ideographs (all extensions), full-width.
_CJK_RANGES = (
    (0x2000, 0x206F),
    (0x2E80, 0x9FFF),
    (0xF900, 0xFAFF),
    (0xFE30, 0xFE4F),
    (0xFF00, 0xFFEF),
    (0x20000, 0x3FFFF),
)


def _cjk(code: int) -> bool:
    return any(low <= code <= high for low, high in _CJK_RANGES)


def encode(xml: str) -> bytes:
    """Bytes with a declaration: GB2312 when representable, else GB18030."""
    for charset in ("GB2312", "GB18030"):
        try:
            payload = xml.encode(charset)
        except UnicodeEncodeError:
            continue
        return f'<?xml version="1.0" encoding="{charset}"?>\r\n'.encode("ascii") + payload
    raise AssertionError("GB18030 encodes every Unicode character")


@dataclass(frozen=True, slots=True)
class Command:
    """One MANSCDP document: its root (Query, Notify, Response, Control), type and fields."""

    root: str
    cmd_type: str
    sn: int
    device_id: str
    fields: dict[str, str] = field(default_factory=dict)
    items: list[dict[str, str]] = field(default_factory=list)
    sum_num: int | None = None


def _flat(element: Element) -> dict[str, str]:
    """Leaf children as text, one level of nested groups flattened (Info/AlarmType → AlarmType)."""
    values: dict[str, str] = {}
    for child in element:
        if len(child):
            for grandchild in child:
                if not len(grandchild):
                    values.setdefault(grandchild.tag, (grandchild.text or "").strip())
        else:
            values[child.tag] = (child.text or "").strip()
    return values


def read(body: bytes) -> Command:
    """Parse a body into a Command; raises BadBody with the reason."""
    text = decode(body)
    try:
        root = SafeTree.fromstring(text)
    except Exception as exc:  # defusedxml raises several types: all mean "not for us"
        raise BadBody(f"not well-formed XML: {exc}") from exc
    fields = _flat(root)
    cmd_type, sn = fields.get("CmdType", ""), fields.get("SN", "")
    if root.tag not in ("Query", "Notify", "Response", "Control") or not cmd_type:
        raise BadBody("not a MANSCDP command (root Query/Notify/Response/Control with CmdType)")
    if not sn.isdigit() or len(sn) > 10:
        raise BadBody("SN is missing or not a number")
    items: list[dict[str, str]] = []
    for group in ("DeviceList", "RecordList", "AlarmList"):
        holder = root.find(group)
        if holder is not None:
            items = [_flat(item) for item in holder.findall("Item")[:MAX_ITEMS_PER_MESSAGE]]
    sum_num = fields.get("SumNum", "")
    return Command(
        root.tag,
        cmd_type,
        int(sn),
        fields.get("DeviceID", ""),
        fields,
        items,
        int(sum_num) if sum_num.isdigit() else None,
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build(root: str, cmd_type: str, sn: int, device_id: str, **extra: str) -> bytes:
    """A flat command document, encoded for the wire."""
    lines = [f"<{root}>", f"<CmdType>{cmd_type}</CmdType>", f"<SN>{sn}</SN>"]
    lines.append(f"<DeviceID>{_escape(device_id)}</DeviceID>")
    lines += [f"<{k}>{_escape(v)}</{k}>" for k, v in extra.items()]
    lines.append(f"</{root}>")
    return encode("\r\n".join(lines) + "\r\n")


def catalog_response(sn: int, device_id: str, sum_num: int, items: list[dict[str, str]]) -> bytes:
    """One packet of a Catalog response (a device's side; the simulator and tests use it)."""
    lines = [
        "<Response>",
        "<CmdType>Catalog</CmdType>",
        f"<SN>{sn}</SN>",
        f"<DeviceID>{device_id}</DeviceID>",
        f"<SumNum>{sum_num}</SumNum>",
        f'<DeviceList Num="{len(items)}">',
    ]
    for item in items:
        lines.append(
            "<Item>" + "".join(f"<{k}>{_escape(v)}</{k}>" for k, v in item.items()) + "</Item>"
        )
    lines += ["</DeviceList>", "</Response>"]
    return encode("\r\n".join(lines) + "\r\n")
