"""The manifest of accounts, sign-in and the audit log."""

from cityops.kit.module import Command, Module, NavEntry

module = Module(
    name="auth",
    title="账号与审计",
    requires=("org",),
    routers=(
        "cityops.auth.api:auth_router",
        "cityops.auth.signin.api:totp_router",
        "cityops.auth.api:accounts_router",
        "cityops.auth.audit.api:audit_router",
    ),
    tables=("cityops.auth.models",),
    migrations="cityops.auth.migrations",
    start="cityops.auth.audit.chain:start_audit",
    permissions=("account.read", "account.write", "account.grant", "audit.read"),
    commands=(
        Command("user", "cityops.auth.cli:app"),
        Command("audit", "cityops.auth.audit.cli:app"),
    ),
    nav=(
        NavEntry("审计日志", "/audit", order=90, permission="audit.read", active_prefix="/audit"),
        NavEntry("修改密码", "/password", order=99, active_prefix="/password"),
        NavEntry("两步验证", "/totp", order=99, active_prefix="/totp"),
    ),
)
