"""The HTML scorecard's CSS, inlined in the page: A4 portrait on paper, one sheet on screen.

Only local fonts are named (the page must not fetch any); the CJK families come first so that
Chinese and Japanese labels pick a proper face where one is installed (Debian's fonts-noto-cjk,
which `make tools` installs), the Japanese one first on a Japanese page.
"""

from typing import Final

STYLESHEET: Final = """
@page { size: A4 portrait; margin: 10mm 11mm; }
:root {
  --ink: #1f2328; --muted: #57606a; --rule: #d0d7de; --soft: #f6f8fa;
  --excellent: #1a7f37; --qualified: #9a6700; --needs_improvement: #cf222e;
  --accent: #0b5cad;
}
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body {
  margin: 0; background: #e9ecef; color: var(--ink);
  font: 9.5pt/1.3 system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC",
    "Noto Sans CJK JP", "Hiragino Sans", "Microsoft YaHei", "DejaVu Sans", Arial, sans-serif;
}
/* Kanji take their Japanese forms on a Japanese page (the SC face draws some differently). */
html:lang(ja) body {
  font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans CJK JP", "Hiragino Sans",
    "Noto Sans CJK SC", "Microsoft YaHei", "DejaVu Sans", Arial, sans-serif;
}
.sheet {
  width: 210mm; min-height: 297mm; margin: 0 auto; padding: 10mm 11mm;
  background: #fff;
}
h1, h2, p { margin: 0; }
h2 { font-size: 9.5pt; text-transform: uppercase; letter-spacing: .04em; color: var(--muted);
  margin-bottom: 1.2mm; }
.top { display: flex; justify-content: space-between; align-items: stretch; gap: 6mm;
  border-bottom: 2px solid var(--ink); padding-bottom: 3mm; }
.kicker { font-size: 9pt; text-transform: uppercase; letter-spacing: .08em; color: var(--muted); }
.entity { font-size: 19pt; line-height: 1.15; word-break: break-all; }
.meta { display: flex; flex-wrap: wrap; gap: 1mm 6mm; margin: 2mm 0 0; }
.meta div, .summary div { display: flex; flex-direction: column; }
dt { font-size: 8pt; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
dd { margin: 0; font-weight: 600; }
.result { min-width: 50mm; text-align: right; padding: 1.5mm 4mm; border-radius: 2mm;
  border: 2px solid currentColor; }
.result .label { font-size: 8pt; text-transform: uppercase; letter-spacing: .06em; }
.grade { font-size: 15pt; font-weight: 700; }
.final-score { font-size: 24pt; font-weight: 700; line-height: 1.1; }
.out-of { color: var(--muted); }
.capped { font-size: 8.5pt; margin-top: 1mm; }
.grade-excellent .result { color: var(--excellent); }
.grade-qualified .result { color: var(--qualified); }
.grade-needs_improvement .result { color: var(--needs_improvement); }
.summary { display: grid; grid-template-columns: repeat(4, 1fr); gap: 3mm; margin: 2.5mm 0;
  padding: 1.8mm 3mm; background: var(--soft); border-radius: 1.5mm; }
.trend-up dd { color: var(--excellent); }
.trend-down dd { color: var(--needs_improvement); }
.remarks { margin: 0 0 2.5mm; }
.no-events { font-weight: 700; color: var(--needs_improvement); }
.notes ul { margin: 0; padding-left: 5mm; }
table { width: 100%; border-collapse: collapse; font-size: 9pt; }
th, td { padding: 0.7mm 1.5mm; border-bottom: 1px solid var(--rule); text-align: left;
  vertical-align: top; }
thead th { font-size: 8pt; text-transform: uppercase; letter-spacing: .03em; color: var(--muted);
  border-bottom: 1.5px solid var(--ink); }
tbody th { font-weight: 500; }
td.category { white-space: nowrap; }
td.num, th.col-actual, th.col-target, th.col-attainment, th.col-weight, th.col-points {
  text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.subtotal th, tr.subtotal td { background: var(--soft); font-weight: 600; }
tr.subtotal th { text-align: right; }
tr.total th, tr.total td { font-weight: 700; border-top: 1.5px solid var(--ink);
  border-bottom: 0; }
tr.total th { text-align: right; }
.boxes { display: flex; gap: 4mm; margin: 3mm 0; }
.box { flex: 1; padding: 1.8mm 3.5mm; border: 1.5px solid var(--rule); border-radius: 1.5mm; }
.box ul { margin: 0; padding-left: 5mm; }
.has-vetoes { border-color: var(--needs_improvement); background: #fff5f5; }
.has-vetoes h2 { color: var(--needs_improvement); }
.no-vetoes { border-color: var(--excellent); }
.no-assessment { border-color: var(--qualified); background: #fffbea; }
.veto-figures { color: var(--muted); white-space: nowrap; }
.charts { display: grid; grid-template-columns: 46fr 54fr; gap: 5mm; }
figure { margin: 0; }
.chart { display: block; width: 100%; height: auto; }
figcaption { font-size: 9pt; margin-top: 1mm; }
.swatch { display: inline-block; width: 2.6mm; height: 2.6mm; border-radius: 50%;
  background: var(--accent); margin-right: 1.2mm; vertical-align: middle; }
.coaching { margin-top: 1mm; }
.empty { color: var(--muted); font-style: italic; }
footer { display: flex; justify-content: space-between; gap: 4mm; margin-top: 3mm;
  padding-top: 2mm; border-top: 1px solid var(--rule); font-size: 7.5pt; color: var(--muted); }
section, figure, .boxes, tr { break-inside: avoid; page-break-inside: avoid; }
@media print {
  body { background: #fff; }
  .sheet { width: auto; min-height: 0; margin: 0; padding: 0; }
}
"""
