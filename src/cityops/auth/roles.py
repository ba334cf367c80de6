"""Roles and what each may do: the permission table the API checks against."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Roles of the platform (角色)."""

    SYS_ADMIN = "sys_admin"  # 系统管理员: accounts and system settings
    SECURITY_ADMIN = "security_admin"  # 安全管理员: privileged roles, grants, locks, API keys
    AUDIT_ADMIN = "audit_admin"  # 审计管理员: reads the audit log, nothing else
    DISTRICT_OFFICER = "district_officer"  # 区值班长/调度员
    TOWN_OPERATOR = "town_operator"  # 街镇城运中心操作员
    GRID_WORKER = "grid_worker"  # 居村/网格员
    DEPT_HANDLER = "dept_handler"  # 职能部门处置人员
    LEADER = "leader"  # 领导 (read-only)
    SYSTEM_CLIENT = "system_client"  # 对接系统 (API keys)


class Perm(StrEnum):
    """Permissions; roles are sets of these."""

    ORG_READ = "org.read"
    ORG_IMPORT = "org.import"
    ACCOUNT_READ = "account.read"
    ACCOUNT_WRITE = "account.write"  # create/update/disable operational accounts
    ACCOUNT_GRANT = "account.grant"  # privileged roles, extra scope, unlock, API keys
    AUDIT_READ = "audit.read"


#: The three admin duties (三权分立): an account holds exactly one role, so never two of them.
PRIVILEGED_ROLES = frozenset({Role.SYS_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})

ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.SYS_ADMIN: frozenset(
        {Perm.ORG_READ, Perm.ORG_IMPORT, Perm.ACCOUNT_READ, Perm.ACCOUNT_WRITE}
    ),
    Role.SECURITY_ADMIN: frozenset({Perm.ORG_READ, Perm.ACCOUNT_READ, Perm.ACCOUNT_GRANT}),
    Role.AUDIT_ADMIN: frozenset({Perm.AUDIT_READ}),
    Role.DISTRICT_OFFICER: frozenset({Perm.ORG_READ}),
    Role.TOWN_OPERATOR: frozenset({Perm.ORG_READ}),
    Role.GRID_WORKER: frozenset({Perm.ORG_READ}),
    Role.DEPT_HANDLER: frozenset({Perm.ORG_READ}),
    Role.LEADER: frozenset({Perm.ORG_READ}),
    Role.SYSTEM_CLIENT: frozenset({Perm.ORG_READ}),
}

ROLE_LABELS: dict[Role, str] = {
    Role.SYS_ADMIN: "系统管理员",
    Role.SECURITY_ADMIN: "安全管理员",
    Role.AUDIT_ADMIN: "审计管理员",
    Role.DISTRICT_OFFICER: "区值班员/调度员",
    Role.TOWN_OPERATOR: "街镇操作员",
    Role.GRID_WORKER: "居村/网格员",
    Role.DEPT_HANDLER: "部门处置人员",
    Role.LEADER: "领导（只读）",
    Role.SYSTEM_CLIENT: "对接系统",
}


def permissions_of(role: str) -> frozenset[Perm]:
    """The permissions of a role name; unknown roles get none."""
    try:
        return ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return frozenset()
