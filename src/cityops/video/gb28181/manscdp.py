"""MANSCDP XML bodies (GB/T 28181-2016 Appendix A): decode, encode, read commands.

Devices often declare GB2312 and send GBK, GB18030 or UTF-8 (WVP-GB28181-pro #1344: rare
characters garbled). So a body is read as GB18030 (⊇ GBK ⊇ GB2312) whatever it declares; a
body that declares UTF-8 and is valid UTF-8 is read as UTF-8; one that is not GB18030 falls
back to UTF-8. We write GB2312 when every character fits, GB18030 otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeTree

MAX_ITEMS_PER_MESSAGE = 1000
_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_DECLARED = re.compile(rb"encoding\s*=\s*[\"']([A-Za-z0-9_-]+)[\"']", re.IGNORECASE)


class BadBody(ValueError):
    """A body that is not a MANSCDP document we can read."""


def decode(body: bytes) -> str:
    """The text of a body, its XML declaration removed (see the module doc for the rule)."""
    match = _DECLARATION.match(body)
    declared = b""
    if match:
        found = _DECLARED.search(match.group(0))
        declared = found.group(1).lower() if found else b""
        body = body[match.end() :]
    if declared in (b"utf-8", b"utf8"):
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            pass
    try:
        return body.decode("gb18030")
    except UnicodeDecodeError:
        pass
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("gb18030", errors="replace")


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
