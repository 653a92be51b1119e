"""The city's vocabulary: names, organisations, roads, channels, and the calendar of
months a city's history spans."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass

from stdnum.cn import uscc

from qingquan.areas.models import Community, District
from qingquan.areas.services import areas_seed_ningbo
from qingquan.customers.models import (
    PaymentChannel,
)
from qingquan.customers.services import tier_prices
from qingquan.customers.tariffs import tariffs_seed

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严戴孔汤"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"
    "华建国志红玉兰文斌海燕春梅晓东亮飞鹏丹萍宁浩宇欣怡佳琪俊波"
)
MOBILE_PREFIXES = (
    "135", "136", "137", "138", "139", "150", "151", "152", "158", "159",
    "186", "187", "188", "189", "133", "153", "180", "181", "177", "199",
)  # fmt: skip
ORG_STEMS = (
    "甬江",
    "四明",
    "天一",
    "东钱湖",
    "三江",
    "明州",
    "鄞城",
    "北仑港",
    "镇海",
    "慈城",
    "梅山",
)
ORG_TRADES = (
    "机械",
    "纸业",
    "食品",
    "纺织",
    "物业管理",
    "酒店",
    "餐饮管理",
    "电子",
    "模具",
    "服饰",
    "医院",
)
ORG_FORMS = ("有限公司", "股份有限公司", "有限责任公司")
ROADS = {
    "海曙区": (
        "中山西路",
        "解放南路",
        "药行街",
        "开明街",
        "柳汀街",
        "望春路",
        "环城西路",
        "永丰路",
    ),
    "江北区": ("人民路", "大闸路", "槐树路", "扬善路", "洪塘中路", "北环西路"),
    "北仑区": ("新碶街", "明州路", "长江路", "庐山西路", "太河路", "华山路"),
    "镇海区": ("城河路", "骆驼街", "镇骆路", "庄市大道", "聪园路"),
    "鄞州区": (
        "中山东路",
        "百丈路",
        "惊驾路",
        "宁穿路",
        "鄞州大道",
        "四明中路",
        "天童南路",
        "钱湖北路",
    ),
    "奉化区": ("南山路", "锦屏路", "中山路", "大成路"),
    "象山县": ("丹河路", "靖南路", "天安路"),
    "宁海县": ("桃源北路", "兴海中路", "气象北路"),
    "余姚市": ("阳明西路", "新建路", "谭家岭路", "舜水南路"),
    "慈溪市": ("新城大道", "孙塘路", "三北大街", "青少年宫路"),
}
CHANNELS = (
    (PaymentChannel.WECHAT, 40),
    (PaymentChannel.ALIPAY, 30),
    (PaymentChannel.BANK, 22),
    (PaymentChannel.COUNTER, 8),
)
ACCOUNT_BASE = 3_302_000_000
ORGANISATION_SHARE = 0.10
UNPAID_SHARE = 0.04  # accounts with arrears beyond the current bill
Progress = Callable[[int, int], None]


@dataclass
class GenerateResult:
    accounts: int
    bills: int
    seconds: float


def _month_starts(months: int, today: dt.date) -> list[dt.date]:
    first = today.replace(day=1)
    starts = []
    year, month = first.year, first.month
    for _ in range(months):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        starts.append(dt.date(year, month, 1))
    return sorted(starts)


def _month_end(start: dt.date) -> dt.date:
    nxt = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return nxt - dt.timedelta(days=1)


class _City:
    """The areas and tariffs the generator draws from, loaded once."""

    def __init__(self) -> None:
        if not District.objects.exists():
            areas_seed_ningbo()
        self.tariffs = tariffs_seed()
        self.tiers = {code: tier_prices(t) for code, t in self.tariffs.items()}
        self.communities = list(Community.objects.select_related("street__district").order_by("pk"))
        if not self.communities:
            raise RuntimeError("no communities: load the areas first")
        # City districts get more people than the counties.
        self.weights = [
            6 if c.street.district.name in {"海曙区", "江北区", "鄞州区"} else 3
            for c in self.communities
        ]


def _person_name(rng: random.Random) -> str:
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(SURNAMES) + given


def _organisation(rng: random.Random, district_code: str, number: int) -> tuple[str, str]:
    name = rng.choice(ORG_STEMS) + rng.choice(ORG_TRADES) + rng.choice(ORG_FORMS)
    # The organisation-code part comes from the account number, so codes never collide.
    body = "91" + district_code + f"{number % 1_000_000_000:09d}"
    return "宁波" + name, body + uscc.calc_check_digit(body)


def _mobile(rng: random.Random, index: int) -> str:
    prefix = rng.choice(MOBILE_PREFIXES)
    # Spread the index over the 8 digits so numbers rarely collide between customers.
    return f"{prefix}{(index * 7_919 + rng.randrange(100)) % 100_000_000:08d}"
