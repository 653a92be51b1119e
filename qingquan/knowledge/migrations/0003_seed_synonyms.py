"""Seed the water-utility synonym groups callers need (supervisors edit them afterwards at
/knowledge/synonyms/) and index the existing articles with them."""

from __future__ import annotations

from typing import Any

from django.db import migrations

GROUPS = [
    "爆 爆裂 爆管 爆了 破裂 裂了 炸了",
    "漏水 冒水 渗漏 渗水 滴水 跑水 漏了 漏 喷水",
    "停水 没水 断水 不来水 无水 没有水 不出水",
    "水压低 水小 降压 水压小 水流小 压力低 水压不足 水很小 水压",
    "水表 表 表具 水表箱",
    "水管 管道 管子 管线 自来水管",
    "水费 水钱 账单 费用",
    "缴费 交费 付费 交钱 缴纳 付款 交 缴",
    "发黄 黄水 浑浊 发浑 水浑 锈水 黄色 有颜色",
    "异味 怪味 有味 味道 气味 臭味",
    "发票 开票 票据",
    "报装 装表 开户 新装 接水",
    "冻 冻住 冻裂 结冰 防冻",
    "读数 度数 抄表 看表",
    "水价 价格 单价 多少钱 怎么收费",
    "饮用 能喝 直饮 喝",
    "通知 告知 提前说",
    "路面 马路 路上 地面 路边",
    "变高 这么多 变多 贵了 偏高 涨了 太多 突然多",
    "材料 资料 证件 带什么 要带 手续",
]


def seed(apps: Any, schema_editor: Any) -> None:
    from django.utils import timezone

    from qingquan.knowledge import search

    group_model = apps.get_model("knowledge", "SynonymGroup")
    article_model = apps.get_model("knowledge", "Article")
    token_model = apps.get_model("knowledge", "ArticleToken")
    now = timezone.now()
    synonyms: dict[str, str] = {}
    for line in GROUPS:
        group = group_model.objects.create(terms=line.split(), updated_at=now)
        for term in group.terms:
            synonyms[term] = search.concept_token(group.pk)
    for article in article_model.objects.all():
        token_model.objects.filter(article=article).delete()
        token_model.objects.bulk_create(
            token_model(article=article, token=token[:40], weight=weight)
            for token, weight in search.weights(article.title, article.body, synonyms).items()
        )


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0002_synonym_group")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
