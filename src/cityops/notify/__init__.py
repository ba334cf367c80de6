"""Phone channels (R7.5): WeCom (政务微信) and the WeChat official account (公众号)."""
