"""The one glossary of the event flow: what each status, source, loop and action is called.

The API's 12345 callbacks, the portal, the overview and the simulator all read these, so a
status has one name everywhere (received is 已受理: the word the hotline is sent).
"""

from __future__ import annotations

STATUS_LABELS: dict[str, str] = {
    "received": "已受理",
    "registered": "已立案",
    "dispatched": "已派遣",
    "signed": "已签收",
    "in_progress": "处置中",
    "handled": "已办结",
    "verifying": "核查中",
    "verified": "核查通过",
    "closed": "已结案",
    "evaluated": "已回访",
    "returned": "已退单",
    "suspended": "挂账",
    "voided": "已作废",
    "merged": "已合并",
}

SOURCE_LABELS: dict[str, str] = {
    "grid": "网格巡查",
    "hotline_12345": "12345热线",
    "town_system": "街镇自建系统",
    "iot": "物联感知",
    "ai": "智能识别",
    "video": "视频告警",
    "mobile": "网格员移动端上报",
    "citizen": "市民上报（H5）",
    "open311": "Open311",
    "upper_platform": "市级平台",
    "command": "指挥调度",
}

LOOP_LABELS: dict[str, str] = {
    "community": "小闭环（居村）",
    "multigrid": "中闭环（多格合一）",
    "town": "大闭环（街镇）",
    "district": "区级闭环",
}

ACTION_LABELS: dict[str, str] = {
    "register": "立案",
    "void": "作废",
    "merge": "合并",
    "dispatch": "派遣",
    "sign": "签收",
    "return": "退单",
    "start": "开始处置",
    "handle": "办结",
    "check": "核查",
    "verify": "核查通过",
    "rework": "返工",
    "redispatch": "改派",
    "close": "结案",
    "evaluate": "回访",
    "reopen": "重启",
    "escalate": "升级",
    "assign_down": "下派",
    "suspend": "挂账",
    "resume": "恢复",
    "request_extension": "申请延期",
    "approve_extension": "批准延期",
    "reject_extension": "驳回延期",
    "supervise": "督办",
    "unsupervise": "解除督办",
}
