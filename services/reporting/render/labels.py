"""Every fixed text of the rendered scorecard, in English, Chinese and Japanese.

KPI names come from the catalogue (`config/kpis.yaml`), veto reasons, quadrant names and
coaching from the scorecard itself; what is left (headings, column names, grades, statuses,
categories, remarks) lives here, so a missing translation is a failing unit test, not a blank.
"""

from types import MappingProxyType
from typing import Final

from shared.messages.scorecard import Category, Grade, Labels, ScorecardStatus, Trend

from .page import Language, text_in


def _l(en: str, zh: str, ja: str) -> Labels:
    return Labels(en=en, zh=zh, ja=ja)


UI: Final = MappingProxyType(
    {
        "title": _l("Scorecard", "绩效评分卡", "スコアカード"),
        "entity": _l("Entity", "考核对象", "評価対象"),
        "period": _l("Period", "考核期间", "評価期間"),
        "profile": _l("Profile", "考核方案", "評価プロファイル"),
        "status": _l("Status", "状态", "状態"),
        "revision": _l("Revision", "修订版本", "改訂版"),
        "grade": _l("Grade", "等级", "評価"),
        "final_score": _l("Final score", "最终得分", "最終スコア"),
        "quantitative": _l("Quantitative", "定量得分", "定量スコア"),
        "qualitative": _l("Qualitative", "定性得分", "定性スコア"),
        "rank": _l("Rank", "排名", "順位"),
        "rank_of": _l("{rank} of {peers}", "第 {rank} 名 / 共 {peers} 名", "{peers} 中 {rank} 位"),
        "not_ranked": _l("Not ranked", "未排名", "順位なし"),
        "trend": _l("Trend", "趋势", "推移"),
        "vs_previous": _l(
            "{delta} vs previous period ({previous})",
            "较上期 {delta}(上期 {previous})",
            "前期比 {delta}(前期 {previous})",
        ),
        "kpi": _l("KPI", "指标", "指標"),
        "category": _l("Category", "类别", "区分"),
        "actual": _l("Actual", "实际", "実績"),
        "target": _l("Target", "目标", "目標"),
        "attainment": _l("Attainment", "达成率", "達成率"),
        "weight": _l("Weight", "权重", "配点"),
        "points": _l("Points", "得分", "得点"),
        "subtotal": _l("Subtotal: {category}", "小计:{category}", "小計:{category}"),
        "total": _l("Quantitative total", "定量合计", "定量合計"),
        "kpi_table": _l("KPIs", "考核指标", "評価指標"),
        "vetoes": _l("Vetoes", "否决项", "否決項目"),
        "no_vetoes": _l("No veto applies.", "无否决项。", "否決項目はありません。"),
        "veto_limit": _l("limit", "限值", "基準"),
        "grade_capped": _l(
            "A veto caps the grade at Qualified.",
            "因触发否决项,等级最高为“合格”。",
            "否決項目により、評価は「合格」が上限です。",
        ),
        "no_assessment": _l(
            "No assessment this period", "本期无定性考核", "今期の定性評価はありません"
        ),
        "no_events": _l("No events this period", "本期无业务事件", "今期のイベントはありません"),
        "notes": _l("Notes", "备注", "備考"),
        "quadrant": _l("Quadrant", "象限分析", "象限分析"),
        "coaching": _l("Coaching", "辅导建议", "指導方針"),
        "no_quadrant": _l(
            "No quadrant: an axis KPI has no value this period.",
            "无象限:本期有坐标轴指标无数值。",
            "象限なし:今期は軸の指標に値がありません。",
        ),
        "no_peers": _l(
            "No peer has values on both axes.",
            "没有同级对象同时具有两个坐标轴的数值。",
            "両軸の値を持つ比較対象がありません。",
        ),
        "this_entity": _l("This entity", "本对象", "当該対象"),
        "peers": _l("Peers", "同级对象", "比較対象"),
        "high": _l("High", "高", "高"),
        "low": _l("Low", "低", "低"),
        "trend_chart": _l(
            "Final score, last {n} periods", "最近 {n} 期最终得分", "直近 {n} 期の最終スコア"
        ),
        "no_trend": _l("No scores yet.", "暂无得分。", "スコアはまだありません。"),
        "as_of": _l("As of", "数据截至", "集計時点"),
        "scorecard_id": _l("Scorecard id", "评分卡编号", "スコアカードID"),
        "not_available": _l("—", "—", "—"),
        "out_of": _l("/ 100", "/ 100", "/ 100"),
    }
)

GRADES: Final = MappingProxyType(
    {
        Grade.EXCELLENT: _l("Excellent", "优秀", "優秀"),
        Grade.QUALIFIED: _l("Qualified", "合格", "合格"),
        Grade.NEEDS_IMPROVEMENT: _l("Needs improvement", "待改进", "要改善"),
    }
)

STATUSES: Final = MappingProxyType(
    {
        ScorecardStatus.PROVISIONAL: _l("Provisional", "暂定", "暫定"),
        ScorecardStatus.REVISED: _l("Revised", "已修订", "改訂"),
        ScorecardStatus.FINAL: _l("Final", "最终", "確定"),
    }
)

CATEGORIES: Final = MappingProxyType(
    {
        Category.PERFORMANCE: _l("Performance", "业绩指标", "業績"),
        Category.CUSTOMER_SERVICE: _l("Customer service", "客户服务", "顧客サービス"),
        Category.CAPABILITY: _l("Capability", "能力素质", "能力"),
    }
)

TRENDS: Final = MappingProxyType(
    {
        Trend.UP: _l("Up", "上升", "上昇"),
        Trend.DOWN: _l("Down", "下降", "下降"),
        Trend.FLAT: _l("Flat", "持平", "横ばい"),
        Trend.NEW: _l("First period", "首个考核期", "初回の評価期間"),
    }
)


def ui(key: str, language: Language, **values: object) -> str:
    """A fixed text in `language`, with `{placeholders}` filled from `values`."""
    text = text_in(UI[key], language)
    return text.format(**values) if values else text


def grade_name(grade: Grade, language: Language) -> str:
    """Excellent / 优秀 / 優秀, …"""
    return text_in(GRADES[grade], language)


def status_name(status: ScorecardStatus, language: Language) -> str:
    """Provisional / 暂定 / 暫定, …"""
    return text_in(STATUSES[status], language)


def category_name(category: Category, language: Language) -> str:
    """Performance / 业绩指标 / 業績, …"""
    return text_in(CATEGORIES[category], language)


def trend_name(trend: Trend, language: Language) -> str:
    """Up / 上升 / 上昇, …"""
    return text_in(TRENDS[trend], language)


def quadrant_name(x_name: str, y_name: str, x_high: bool, y_high: bool, language: Language) -> str:
    """A quadrant named from its axes, as the renewal-clerk guide does (高续保率 - 低客户满意度)."""
    x_level = ui("high" if x_high else "low", language)
    y_level = ui("high" if y_high else "low", language)
    if language == "en":
        return f"{x_level} {_lower_first(x_name)} · {y_level.lower()} {_lower_first(y_name)}"
    return f"{x_level}{x_name} - {y_level}{y_name}"


def _lower_first(name: str) -> str:
    # "Renewal rate" → "renewal rate", but "NPS" stays "NPS".
    if len(name) > 1 and name[1].isupper():
        return name
    return name[:1].lower() + name[1:]
