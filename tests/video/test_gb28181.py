"""GB/T 28181 codes and MANSCDP bodies: validation reasons, GB18030 whatever is declared."""

from __future__ import annotations

import pytest

from cityops.video.gb28181.catalog import Catalog, CatalogCollector
from cityops.video.gb28181.ids import InvalidId, Kind, is_valid, parse_id
from cityops.video.gb28181.manscdp import BadBody, build, catalog_response, decode, encode, read
from tests.video.memory_store import sync

RARE = "萳㵘䶮𠮷赟"


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("31011710001180000001", Kind.DEVICE),
        ("31011710001320000001", Kind.CHANNEL),
        ("31011700002000000001", Kind.PLATFORM),
        ("31011710002150000001", Kind.BUSINESS_GROUP),
        ("31011710002160000001", Kind.VIRTUAL_ORG),
        ("31011710003000000001", Kind.USER),
    ],
)
def test_valid_codes_and_their_kind(code: str, kind: Kind) -> None:
    parsed = parse_id(code)
    assert parsed.kind is kind and parsed.civil_code == code[:8] and parsed.type_code == code[10:13]


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("3101171000118000000", "20 digits"),
        ("3101171000118000000a", "digits only"),
        ("31011710000990000001", "reserved"),
        ("00011710001180000001", "province"),
        ("３1011710001180000001", "digits only"),  # a full-width digit
    ],
)
def test_invalid_codes_say_why(code: str, reason: str) -> None:
    with pytest.raises(InvalidId, match=reason):
        parse_id(code)


def test_civil_codes_are_regions_only_when_asked() -> None:
    assert parse_id("31011710", regions=True).kind is Kind.REGION
    assert not is_valid("31011710")


@pytest.mark.parametrize("charset", ["gb18030", "gbk"])
def test_body_declaring_gb2312_is_read_as_gb18030(charset: str) -> None:
    name = "萳园" if charset == "gbk" else RARE
    body = f'<?xml version="1.0" encoding="GB2312"?><Notify><Name>{name}</Name></Notify>'
    assert decode(body.encode(charset)).endswith(f"<Name>{name}</Name></Notify>")


def test_utf8_bodies_are_read_as_utf8_whatever_they_declare() -> None:
    for declared in ("UTF-8", "GB2312"):
        body = f'<?xml version="1.0" encoding="{declared}"?><a>{RARE}</a>'.encode()
        assert decode(body) == f"<a>{RARE}</a>"


def test_gb_text_of_a_corpus_is_never_mistaken_for_utf8() -> None:
    corpus = [
        RARE,
        "萳园路口㵘",
        "堃喆镕玥",
        "模拟摄像机",
        "中文",
        "上海市松江区泗泾镇",
        "车墩",
        "𠮷祥桥",
    ]
    corpus += [chr(c) for c in range(0x4E00, 0x9FA6)]  # every basic CJK ideograph alone
    for text in corpus:
        for charset in ("gb18030", "gbk"):
            try:
                raw = text.encode(charset)
            except UnicodeEncodeError:
                continue
            assert decode(raw) == text, (text, charset)


def test_encode_picks_gb2312_when_it_can() -> None:
    assert encode("<a>中文</a>").startswith(b'<?xml version="1.0" encoding="GB2312"?>')
    rare = encode(f"<a>{RARE}</a>")
    assert rare.startswith(b'<?xml version="1.0" encoding="GB18030"?>')
    assert decode(rare).strip() == f"<a>{RARE}</a>"


def test_read_a_catalog_packet_and_refuse_bad_bodies() -> None:
    items = [{"DeviceID": "31011710001310000001", "Name": RARE}]
    command = read(catalog_response(5, "31011710001180000001", 2, items))
    assert (command.root, command.cmd_type, command.sn, command.sum_num) == (
        "Response",
        "Catalog",
        5,
        2,
    )
    assert command.items == items
    alarm = read(build("Notify", "Alarm", 1, "31011710001310000001", AlarmMethod="5"))
    assert alarm.fields["AlarmMethod"] == "5"
    for bad in (
        b"<Notify>",
        b"<html/>",
        b"<Notify><CmdType>Keepalive</CmdType><SN>x</SN></Notify>",
    ):
        with pytest.raises(BadBody):
            read(bad)
    bomb = b'<!DOCTYPE a [<!ENTITY x "xxxxxxxx">]><Notify><CmdType>&x;</CmdType><SN>1</SN></Notify>'
    with pytest.raises(BadBody):
        read(bomb)  # entities refused (defusedxml)


@sync
async def test_catalog_completes_at_sum_num_and_counts_a_resent_packet_once() -> None:
    collector = CatalogCollector(quiet_timeout=30)
    collector.expect("d", 1)
    first = [{"DeviceID": f"3101171000131000000{n}"} for n in range(2)]
    packet = read(catalog_response(1, "d", 3, first))
    assert not complete(collector.add(packet, "d"))
    assert not complete(collector.add(packet, "d"))  # the same packet again
    last = read(catalog_response(1, "d", 3, [{"DeviceID": "31011710001310000009"}]))
    assert complete(collector.add(last, "d"))
    catalog = await collector.wait("d", 1)  # answered before anyone waited
    assert catalog.complete and len(catalog.items) == 3
    assert collector.add(last, "d") is None  # a late copy is not a new catalog


def complete(catalog: Catalog | None) -> bool:
    assert catalog is not None
    return catalog.complete
