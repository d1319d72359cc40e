"""Every fixed text of the console in English, Chinese and Japanese; the scorecard's own texts
(grades, KPI columns, vetoes) come from `render.labels`, KPI names from the catalogue."""

from types import MappingProxyType
from typing import Final

from shared.messages.scorecard import Labels

from ..render.labels import ui
from ..render.page import Language, text_in


def _l(en: str, zh: str, ja: str) -> Labels:
    return Labels(en=en, zh=zh, ja=ja)


TEXTS: Final = MappingProxyType(
    {
        "console": _l("KPI console", "KPI 运营看板", "KPI コンソール"),
        "overview": _l("Overview", "总览", "概要"),
        "organisation": _l("Organisation", "组织", "組織"),
        "scorecards": _l("Scorecards", "评分卡", "スコアカード"),
        "alerts": _l("Alerts", "告警", "アラート"),
        "data_quality": _l("Data quality", "数据质量", "データ品質"),
        "pipeline": _l("Pipeline", "处理管道", "パイプライン"),
        "language": _l("Language", "语言", "言語"),
        "read_only": _l(
            "Read-only. No customer identifier or phone hash is shown.",
            "只读。不显示任何客户编号或电话哈希。",
            "閲覧専用。顧客IDや電話番号ハッシュは表示しません。",
        ),
        "as_of_stream": _l(
            "Figures as of {time} (event time)",
            "数据截至 {time}(事件时间)",
            "{time} 時点(イベント時刻)の数値",
        ),
        "nothing_yet": _l(
            "No event has been applied yet: figures appear once scoring has read the first.",
            "尚未处理任何事件:评分服务读取首个事件后即显示数据。",
            "まだイベントが適用されていません。最初のイベントの処理後に表示されます。",
        ),
        "company_kpis": _l("Company KPIs, {period}", "公司指标({period})", "全社の指標({period})"),
        "firing_alerts": _l("Firing alerts", "正在触发的告警", "発報中のアラート"),
        "no_firing": _l(
            "No alert is firing.", "当前没有触发的告警。", "発報中のアラートはありません。"
        ),
        "all_alerts": _l("All alerts", "全部告警", "すべてのアラート"),
        "value": _l("Value", "数值", "値"),
        "status_light": _l("Status", "状态", "状態"),
        "light_good": _l("On target", "达标", "目標達成"),
        "light_watch": _l("Near target", "接近目标", "目標付近"),
        "light_poor": _l("Below target", "未达标", "目標未達"),
        "light_none": _l("No target or value", "无目标或数值", "目標・値なし"),
        "last_12": _l("Last 12 months", "最近 12 个月", "直近 12 か月"),
        "where_next": _l(
            "Start here: open Organisation to drill down from the company to an agent, or "
            "Scorecards for the last closed period.",
            "从这里开始:在“组织”中从公司逐级下钻到业务员,或在“评分卡”中查看最近结账的期间。",
            "まずは「組織」で全社から担当者まで掘り下げるか、「スコアカード」で直近の締め期間をご覧ください。",
        ),
        "period_kind": _l("Period", "期间", "期間"),
        "month": _l("Month", "月度", "月次"),
        "quarter": _l("Quarter", "季度", "四半期"),
        "half": _l("Half", "半年度", "半期"),
        "year": _l("Fiscal year", "财年", "年度"),
        "window": _l("Last 30 days", "最近 30 天", "直近 30 日"),
        "show": _l("Show", "显示", "表示"),
        "rank_among_peers": _l("Rank among peers", "同级排名", "同階層内の順位"),
        "no_peers": _l("—", "—", "—"),
        "below": _l("Below {entity}", "{entity} 下级", "{entity} の下位"),
        "nothing_below": _l("Nothing below this level.", "没有下级。", "下位はありません。"),
        "scorecards_of": _l(
            "Scorecards of {entity}", "{entity} 的评分卡", "{entity} のスコアカード"
        ),
        "no_scorecards": _l(
            "No scorecard yet: one comes when a period closes.",
            "尚无评分卡:期间结账后生成。",
            "スコアカードはまだありません。期間の締め後に作成されます。",
        ),
        "window_levels": _l(
            "Rolling windows are kept from branch level up.",
            "滚动窗口仅保存在支公司及以上层级。",
            "ローリング期間は支店以上の階層のみ保持されます。",
        ),
        "closed_period": _l("Closed period", "已结账期间", "締め済み期間"),
        "grade_distribution": _l("Grade distribution", "等级分布", "評価の分布"),
        "vetoed": _l("With a veto", "触发否决项", "否決項目あり"),
        "entity_col": _l("Entity", "考核对象", "評価対象"),
        "final_score": _l("Final score", "最终得分", "最終スコア"),
        "formats": _l("Open as", "打开格式", "形式"),
        "no_closed_period": _l(
            "No period has closed yet: scorecards come when a month closes.",
            "尚无结账期间:月度结账后生成评分卡。",
            "締め済みの期間はまだありません。月の締め後にスコアカードが作成されます。",
        ),
        "severity": _l("Severity", "严重程度", "重大度"),
        "rule": _l("Rule", "规则", "ルール"),
        "message": _l("Message", "内容", "内容"),
        "threshold": _l("Threshold", "阈值", "しきい値"),
        "started": _l("Started", "开始", "開始"),
        "resolved": _l("Resolved", "已解除", "解消"),
        "evidence": _l("Evidence", "证据", "根拠"),
        "runbook": _l("Runbook", "处置手册", "対応手順"),
        "firing": _l("Firing", "触发中", "発報中"),
        "no_resolved": _l(
            "No alert has resolved yet.", "尚无已解除的告警。", "解消済みのアラートはありません。"
        ),
        "dead_letters": _l("Dead letters", "死信", "デッドレター"),
        "dead_letters_none": _l(
            "No dead letter: every record read so far was accepted.",
            "没有死信:迄今读取的记录均已接受。",
            "デッドレターはありません。これまでのレコードはすべて受理されました。",
        ),
        "by_reason": _l("By reason", "按原因", "理由別"),
        "by_source": _l("By source topic", "按来源主题", "送信元トピック別"),
        "reason": _l("Reason", "原因", "理由"),
        "source": _l("Source", "来源", "送信元"),
        "count": _l("Count", "数量", "件数"),
        "total": _l("Total", "合计", "合計"),
        "unreadable": _l(
            "Unreadable records on the topic",
            "主题中无法解析的记录",
            "トピック上の読めないレコード",
        ),
        "over_time": _l("Received per hour (UTC)", "每小时接收数(UTC)", "時間ごとの受信数(UTC)"),
        "samples": _l("Newest letters", "最新死信", "最新のデッドレター"),
        "samples_note": _l(
            "Without payloads; customer and phone values withheld.",
            "不含原始内容;客户与电话字段的值已隐去。",
            "ペイロードなし。顧客・電話の値は伏せています。",
        ),
        "detail": _l("Detail", "详情", "詳細"),
        "position": _l(
            "Topic:partition:offset", "主题:分区:偏移", "トピック:パーティション:オフセット"
        ),
        "received": _l("Received", "接收时间", "受信時刻"),
        "after_fix": _l("After the fix", "修复之后", "修正後の手順"),
        "after_fix_text": _l(
            "Once the cause is fixed (the publisher corrected, org.yaml updated, a bug "
            "fixed), send the letters back: ingest judges them again. Run on a machine with "
            "access to Kafka and MongoDB:",
            "原因修复后(发布方已更正、org.yaml 已更新或缺陷已修复),将死信重新投递,"
            "由 ingest 重新校验。在可访问 Kafka 和 MongoDB 的机器上运行:",
            "原因を修正したら(送信元の修正、org.yaml の更新、不具合の修正)、デッドレターを"
            "再投入すると ingest が再判定します。Kafka と MongoDB に接続できる環境で実行:",
        ),
        "scoring_clock": _l(
            "Scoring: event time", "评分服务:事件时间", "スコアリング:イベント時刻"
        ),
        "low_watermark": _l("Low watermark", "低水位线", "低ウォーターマーク"),
        "latest_event": _l("Latest event applied", "最新已处理事件", "適用済み最新イベント"),
        "earliest_event": _l("Earliest event applied", "最早已处理事件", "適用済み最古イベント"),
        "last_commit": _l("Last commit (wall clock)", "最近提交(墙钟)", "最終コミット(実時刻)"),
        "backlog": _l(
            "Records left at last commit", "最近提交时仍有积压", "最終コミット時の未処理"
        ),
        "yes": _l("Yes", "是", "あり"),
        "no": _l("No", "否", "なし"),
        "reporting_clock": _l(
            "Reporting: period close", "报表服务:期间结账", "レポーティング:期間締め"
        ),
        "close_clock": _l("Close clock", "结账时钟", "締めクロック"),
        "horizon": _l("Closing from", "结账起始月", "締め開始月"),
        "open_periods": _l("Closed, still revisable", "已结账且可修订", "締め済み(改訂可)"),
        "final_periods": _l("Final", "已定稿", "確定"),
        "other_services": _l("Alerts and dead letters", "告警与死信", "アラートとデッドレター"),
        "latest_dead_letter": _l("Latest dead letter", "最新死信", "最新のデッドレター"),
        "prometheus_only": _l(
            "More in Prometheus",
            "Prometheus 中的更多指标",
            "Prometheus で見られるもの",
        ),
        "prometheus_note": _l(
            "The figures above are the last minute's. Their history, other quantiles and the "
            "per-KPI metrics are each service's own metrics (/metrics), kept only by "
            "Prometheus. Query them there:",
            "以上为最近一分钟的数据。历史数据、其他分位数及各 KPI 指标是各服务自身的指标"
            "(/metrics),仅保存在 Prometheus 中。请在 Prometheus 中查询:",
            "上の数値は直近 1 分間のものです。その履歴、他の分位点、KPI ごとのメトリクスは"
            "各サービス自身のメトリクス(/metrics)で、Prometheus にのみ保存されます。"
            "Prometheus で確認してください:",
        ),
        "per_service": _l("Per service", "各服务", "サービス別"),
        "consumer_lag": _l("Consumer lag", "消费延迟", "コンシューマラグ"),
        "records": _l("records", "条", "件"),
        "events_per_s": _l("Events/s", "每秒事件数", "イベント/秒"),
        "over_seconds": _l("over {seconds} s", "最近 {seconds} 秒", "直近 {seconds} 秒"),
        "batch_latency": _l(
            "Batch latency p50 / p95 / max",
            "批处理耗时 p50 / p95 / 最大",
            "バッチ処理時間 p50 / p95 / 最大",
        ),
        "of_batches": _l("last {count} batches", "最近 {count} 批", "直近 {count} バッチ"),
        "watermark": _l("Watermark", "水位线", "ウォーターマーク"),
        "watermark_low_watermark": _l("low watermark", "低水位线", "低ウォーターマーク"),
        "watermark_latest_event": _l("latest event seen", "最新事件", "最新イベント"),
        "watermark_close_clock": _l("close clock", "结账时钟", "締めクロック"),
        "last_batch": _l("Last batch", "最近一批", "最終バッチ"),
        "lag_by_partition": _l(
            "Consumer lag by partition", "各分区消费延迟", "パーティション別コンシューマラグ"
        ),
        "topic": _l("Topic", "主题", "トピック"),
        "partition": _l("Partition", "分区", "パーティション"),
        "offset_position": _l("Position", "消费位置", "処理位置"),
        "end_offset": _l("End", "末尾偏移量", "末尾オフセット"),
        "sampled_at": _l(
            "Offsets read at {time}, every {every} s",
            "偏移量读取于 {time},每 {every} 秒一次",
            "オフセット取得 {time}({every} 秒ごと)",
        ),
        "not_sampled": _l(
            "The offsets have not been read yet (every {every} s).",
            "尚未读取偏移量(每 {every} 秒一次)。",
            "オフセットはまだ取得されていません({every} 秒ごと)。",
        ),
        "offsets_error": _l(
            "The broker did not answer the last reading; the figures are the earlier ones: "
            "{reason}",
            "上次读取时 Kafka 未响应,以下为之前的数据:{reason}",
            "前回の取得で Kafka が応答しませんでした。以前の数値を表示しています:{reason}",
        ),
        "no_lag": _l("Nothing left to read.", "没有积压。", "未処理はありません。"),
        "figure": _l("Figure", "指标", "項目"),
        "service": _l("Service", "服务", "サービス"),
        "query": _l("Query", "查询", "クエリ"),
        "not_found": _l("Not found", "未找到", "見つかりません"),
        "bad_request": _l("Cannot show this page", "无法显示此页面", "このページを表示できません"),
        "back": _l("Back to the overview", "返回总览", "概要に戻る"),
        "unknown_time": _l("—", "—", "—"),
    }
)


def t(key: str, language: Language, **values: object) -> str:
    """A console text in `language`, `{placeholders}` filled; a scorecard text (`ui`) when the
    console has none of its own."""
    if key not in TEXTS:
        return ui(key, language, **values)
    text = text_in(TEXTS[key], language)
    return text.format(**values) if values else text
