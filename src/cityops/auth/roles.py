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
    # R7 event flow (cases)
    CASE_READ = "case.read"
    CASE_CREATE = "case.create"
    CASE_DISPATCH = "case.dispatch"  # 立案, 派遣, 升级/下派, 挂账, 延期审批, 结案, 重启
    CASE_HANDLE = "case.handle"  # 签收, 退单, 处置, 办结, 申请延期
    CASE_VERIFY = "case.verify"  # 核查
    CASE_EVALUATE = "case.evaluate"  # 回访/满意度
    CASE_SUPERVISE = "case.supervise"  # 催办/督办/挂牌
    CASE_CONTACT = "case.contact"  # read a reporter's unmasked contact (audited)
    CASE_RULES = "case.rules"  # edit routing rules
    OUTBOX_MANAGE = "outbox.manage"  # see and retry undelivered callbacks and notices
    PRIVACY_MANAGE = "privacy.manage"  # the personal-data register, one person's export/erasure
    # R6 IoT hub and R6.3/R4.2 sharing (分层共享)
    IOT_READ = "iot.read"  # devices, readings and scene events in scope (or granted)
    IOT_MANAGE = "iot.manage"  # profiles, devices, gateways, credentials of the own org unit
    IOT_INGEST = "iot.ingest"  # push readings over HTTP (system clients, gateways)
    IOT_SCENARIO = "iot.scenario"  # author (district) or instantiate (town) scenarios, ack alarms
    SHARING_APPLY = "sharing.apply"  # apply for another owner's data or scenario
    SHARING_APPROVE = "sharing.approve"  # approve, reject and revoke applications (district)
    # R4 video hub (视频中台)
    VIDEO_READ = "video.read"  # devices, channels and the catalog tree in scope
    VIDEO_MANAGE = "video.manage"  # device owners, catalog queries, of the own org unit
    # R9 command and dispatch (指挥体系)
    COMMAND_READ = "command.read"  # incidents, plans and orders in scope
    COMMAND_MANAGE = "command.manage"  # declare incidents, activate plans, issue orders
    COMMAND_PLAN = "command.plan"  # author contingency plans (预案)
    ORDER_SIGN = "order.sign"  # sign for (签收) orders to the own unit and report back


#: The three admin duties (三权分立): an account holds exactly one role, so never two of them.
PRIVILEGED_ROLES = frozenset({Role.SYS_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})

ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.SYS_ADMIN: frozenset(
        {Perm.ORG_READ, Perm.ORG_IMPORT, Perm.ACCOUNT_READ, Perm.ACCOUNT_WRITE}
    ),
    Role.SECURITY_ADMIN: frozenset(
        {Perm.ORG_READ, Perm.ACCOUNT_READ, Perm.ACCOUNT_GRANT, Perm.PRIVACY_MANAGE}
    ),
    Role.AUDIT_ADMIN: frozenset({Perm.AUDIT_READ}),
    Role.DISTRICT_OFFICER: frozenset({Perm.ORG_READ}),
    Role.TOWN_OPERATOR: frozenset({Perm.ORG_READ}),
    Role.GRID_WORKER: frozenset({Perm.ORG_READ}),
    Role.DEPT_HANDLER: frozenset({Perm.ORG_READ}),
    Role.LEADER: frozenset({Perm.ORG_READ}),
    Role.SYSTEM_CLIENT: frozenset({Perm.ORG_READ}),
}

#: R7 event flow: what each role may do with cases, added to the table above. Visibility is
#: still the data scope; a dept handler sees only cases dispatched to its department and a
#: system client only the cases it created (cityops.cases.access).
CASE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.DISTRICT_OFFICER: frozenset(
        {
            Perm.CASE_READ,
            Perm.CASE_CREATE,
            Perm.CASE_DISPATCH,
            Perm.CASE_HANDLE,
            Perm.CASE_VERIFY,
            Perm.CASE_EVALUATE,
            Perm.CASE_SUPERVISE,
            Perm.CASE_CONTACT,
            Perm.CASE_RULES,
        }
    ),
    Role.TOWN_OPERATOR: frozenset(
        {
            Perm.CASE_READ,
            Perm.CASE_CREATE,
            Perm.CASE_DISPATCH,
            Perm.CASE_VERIFY,
            Perm.CASE_SUPERVISE,
        }
    ),
    Role.GRID_WORKER: frozenset(
        {Perm.CASE_READ, Perm.CASE_CREATE, Perm.CASE_HANDLE, Perm.CASE_VERIFY}
    ),
    Role.DEPT_HANDLER: frozenset({Perm.CASE_READ, Perm.CASE_HANDLE}),
    Role.LEADER: frozenset({Perm.CASE_READ, Perm.CASE_SUPERVISE}),
    Role.SYSTEM_CLIENT: frozenset(
        {Perm.CASE_READ, Perm.CASE_CREATE, Perm.CASE_EVALUATE, Perm.CASE_SUPERVISE}
    ),
}
for _role, _granted in CASE_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | _granted
#: The outbox (12345 callbacks, WeChat notices): operators of the platform and the duty desk.
for _role in (Role.SYS_ADMIN, Role.DISTRICT_OFFICER):
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | {Perm.OUTBOX_MANAGE}

#: R6 IoT hub and sharing: the district runs the hub and approves; towns run their own devices
#: and apply for the rest; leaders read; system clients push readings.
IOT_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.DISTRICT_OFFICER: frozenset(
        {
            Perm.IOT_READ,
            Perm.IOT_MANAGE,
            Perm.IOT_SCENARIO,
            Perm.SHARING_APPLY,
            Perm.SHARING_APPROVE,
        }
    ),
    Role.TOWN_OPERATOR: frozenset(
        {Perm.IOT_READ, Perm.IOT_MANAGE, Perm.IOT_SCENARIO, Perm.SHARING_APPLY}
    ),
    Role.LEADER: frozenset({Perm.IOT_READ}),
    Role.SYSTEM_CLIENT: frozenset({Perm.IOT_READ, Perm.IOT_INGEST}),
}
for _role, _granted in IOT_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | _granted

#: R4 video hub: the district runs it, towns manage their own devices, leaders watch.
VIDEO_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.DISTRICT_OFFICER: frozenset({Perm.VIDEO_READ, Perm.VIDEO_MANAGE}),
    Role.TOWN_OPERATOR: frozenset({Perm.VIDEO_READ, Perm.VIDEO_MANAGE}),
    Role.LEADER: frozenset({Perm.VIDEO_READ}),
}
for _role, _granted in VIDEO_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | _granted

#: R9 command and dispatch: the district commands and authors plans; a town commands in its own
#: area; every operational role that receives orders signs for them and reports back.
COMMAND_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.DISTRICT_OFFICER: frozenset(
        {Perm.COMMAND_READ, Perm.COMMAND_MANAGE, Perm.COMMAND_PLAN, Perm.ORDER_SIGN}
    ),
    Role.TOWN_OPERATOR: frozenset({Perm.COMMAND_READ, Perm.COMMAND_MANAGE, Perm.ORDER_SIGN}),
    Role.GRID_WORKER: frozenset({Perm.COMMAND_READ, Perm.ORDER_SIGN}),
    Role.DEPT_HANDLER: frozenset({Perm.COMMAND_READ, Perm.ORDER_SIGN}),
    Role.LEADER: frozenset({Perm.COMMAND_READ}),
}
for _role, _granted in COMMAND_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | _granted

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
