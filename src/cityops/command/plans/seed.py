"""The seeded flood-control plan (防汛防台, IV–I 级): LABELLED SYNTHETIC.

The structure it follows is real: four response levels, IV (the lowest) to I, matched to the
blue, yellow, orange and red warnings, with the district's flood-control office commanding and
towns and communities (居村) acting on its orders — see the sources below. The units, tasks and
deadlines are invented for demos and drills; they are not any district's actual plan.
"""

from __future__ import annotations

from cityops.command.plans.schema import PlanBody, StepSpec, Target, Tier

FLOOD_CODE = "flood"
FLOOD_TYPE = "flood"  # the incident type it serves (防汛防台)
FLOOD_TITLE = "防汛防台专项应急预案（合成示例）"

SOURCES = [
    "《国家防汛抗旱应急预案》（国务院办公厅，2022年修订）：应急响应分为四级，Ⅰ级最高",
    "《上海市防汛防台专项应急预案》（上海市人民政府办公厅）：蓝、黄、橙、红预警对应Ⅳ、Ⅲ、Ⅱ、Ⅰ级响应",
    "合成数据：以下单位、任务与时限为演示虚构，不代表任何区的实际预案",
]


def _step(tier: Tier, target: Target, task: str, levels: list[int], sign: int) -> StepSpec:
    return StepSpec(
        tier=tier,
        target=target,
        task=task,
        levels=levels,
        sign_minutes=sign,
        complete_minutes=sign * 12,
        escalate_minutes=max(5, sign // 2),
    )


ALL, III_UP, II_UP, I_ONLY = [1, 2, 3, 4], [1, 2, 3], [1, 2], [1]
D, T, C = Tier.DISTRICT, Tier.TOWN, Tier.COMMUNITY

FLOOD_BODY = PlanBody(
    steps=[
        _step(D, Target.DISTRICT, "区防汛指挥部24小时值班，汇总雨情水情（合成）", ALL, 15),
        _step(T, Target.AREA_TOWN, "街镇防汛分指挥部启动值班，巡查积水点与下立交（合成）", ALL, 30),
        _step(C, Target.AREA_COMMUNITIES, "居村网格员巡查低洼处、危棚简屋（合成）", ALL, 30),
        _step(D, Target.DISTRICT, "区抢险队伍集结待命，调配排水泵车（合成）", III_UP, 15),
        _step(T, Target.AREA_TOWN, "街镇组织撤离危险区域人员至避难点（合成）", II_UP, 20),
        _step(C, Target.AREA_COMMUNITIES, "居村逐户通知并协助转移独居老人（合成）", II_UP, 20),
        _step(D, Target.DISTRICT, "区主要领导坐镇指挥，停课停工建议报批（合成）", I_ONLY, 10),
    ],
    sources=SOURCES,
)
