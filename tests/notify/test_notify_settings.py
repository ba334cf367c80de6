"""WeChat and hotline settings: disabled by default, refused when incomplete, read from the env."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from cityops.cases.notices.wechat import unit_recipients
from cityops.config import Settings
from cityops.outbox.runtime import channels, http_client, secret_lookup

COMPLETE_WECOM = {
    "wecom_enabled": True,
    "wecom_corp_id": "ww01",
    "wecom_secret": "s" * 20,
    "wecom_agent_id": 1000002,
}


def settings(**values: object) -> Settings:
    """Settings from these values only (no .env file)."""
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_channels_are_off_by_default() -> None:
    plain = settings()
    assert not plain.wecom_enabled and not plain.mp_enabled and plain.hotline_systems == {}

    async def names(value: Settings) -> set[str]:
        async with http_client(value) as client:
            return set(channels(value, client))

    assert asyncio.run(names(plain)) == {"webhook"}
    assert asyncio.run(names(settings(**COMPLETE_WECOM))) == {"webhook", "wecom"}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"wecom_enabled": True}, "wecom_enabled needs"),
        ({**COMPLETE_WECOM, "wecom_agent_id": 0}, "wecom_enabled needs"),
        ({"mp_enabled": True, "mp_app_id": "wx1", "mp_secret": "x" * 20}, "mp_enabled needs"),
        ({"mp_template_fields": {"keyword1": "phone"}}, "unknown values"),
        ({"wecom_base_url": "ftp://wecom.gov"}, "http(s) URL"),
        ({"hotline_systems": {"sh12345": {"secret": "short"}}}, "at least 16"),
        (
            {"hotline_systems": {"sh12345": {"secret": "s" * 20, "callback_url": "file:///x"}}},
            "http(s) URL",
        ),
        ({"hotline_systems": {"sh12345": {"secret": "s" * 20, "colour": "red"}}}, "Extra inputs"),
    ],
)
def test_incomplete_or_wrong_settings_are_refused(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        settings(**values)


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "CITYOPS_HOTLINE_SYSTEMS",
        '{"sh12345": {"secret": "0123456789abcdef-xyz", "callback_url": "https://cb.12345.sh.gov.cn/x"}}',
    )
    monkeypatch.setenv("CITYOPS_HOTLINE_CALLBACK_HOSTS", '["*.12345.sh.gov.cn"]')
    monkeypatch.setenv(
        "CITYOPS_WECOM_RECIPIENTS",
        '{"310117102/sw": {"users": ["sw_zhang"]}, "310117": {"parties": ["1"]}, "310117102": {"parties": ["2"]}}',
    )
    value = settings()
    assert value.hotline_systems["sh12345"].callback_url == "https://cb.12345.sh.gov.cn/x"
    assert secret_lookup(value)("hotline:sh12345") == b"0123456789abcdef-xyz"
    assert secret_lookup(value)("hotline:other") is None
    assert value.hotline_callback_hosts == ["*.12345.sh.gov.cn"]
    assert value.wecom_recipients["310117102/sw"].users == ["sw_zhang"]
    longest = unit_recipients(value, "310117102001")
    assert longest is not None and longest.parties == ["2"]
    district = unit_recipients(value, "310117103")
    assert district is not None and district.parties == ["1"]
    assert unit_recipients(value, "310118001") is None
    assert "0123456789abcdef" not in repr(value)  # secrets never print
