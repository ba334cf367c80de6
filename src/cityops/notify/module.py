"""The manifest of notices to people: WeCom (政务微信) and the WeChat official account."""

from cityops.kit.module import Module

module = Module(
    name="notify",
    title="消息通知",
    outbox_channels=("cityops.notify.channel:wechat_channels",),
)
