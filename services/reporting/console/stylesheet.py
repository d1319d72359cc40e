"""The console's CSS, inlined in every page: a readable screen layout and a print layout (no
navigation or forms, tables across the page, no row split over two pages). Only local fonts
are named, the CJK families first, as on the scorecard."""

from typing import Final

STYLESHEET: Final = """
:root {
  --ink: #1f2328; --muted: #57606a; --rule: #d0d7de; --soft: #f6f8fa; --accent: #0b5cad;
  --good: #1a7f37; --watch: #9a6700; --poor: #cf222e; --none: #8c959f;
}
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body {
  margin: 0; color: var(--ink); background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", "Noto Sans CJK JP",
    "Hiragino Sans", "Microsoft YaHei", "DejaVu Sans", Arial, sans-serif;
}
a { color: var(--accent); }
header.bar { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 20px;
  padding: 10px 20px; background: var(--ink); color: #fff; }
header.bar a { color: #fff; text-decoration: none; }
header.bar .brand { font-weight: 700; font-size: 16px; }
nav.pages { display: flex; flex-wrap: wrap; gap: 4px 14px; }
nav.pages a { padding: 2px 0; border-bottom: 2px solid transparent; }
nav.pages a[aria-current="page"] { border-bottom-color: #fff; font-weight: 600; }
nav.languages { margin-left: auto; display: flex; gap: 10px; }
nav.languages a[aria-current="true"] { font-weight: 700; text-decoration: underline; }
main { max-width: 1180px; margin: 0 auto; padding: 16px 20px 32px; }
h1 { font-size: 22px; margin: 4px 0 2px; }
h2 { font-size: 16px; margin: 22px 0 8px; }
.muted, .as-of { color: var(--muted); }
.as-of { font-size: 12px; }
.hint { background: var(--soft); border-left: 3px solid var(--accent); padding: 8px 12px; }
.empty { color: var(--muted); font-style: italic; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--rule);
  vertical-align: top; }
thead th { font-size: 12px; color: var(--muted); border-bottom: 1.5px solid var(--ink); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 10px; }
.tile { border: 1px solid var(--rule); border-radius: 6px; padding: 8px 10px;
  border-top: 4px solid var(--none); }
.tile.light-good { border-top-color: var(--good); }
.tile.light-watch { border-top-color: var(--watch); }
.tile.light-poor { border-top-color: var(--poor); }
.tile .name { font-size: 12px; color: var(--muted); min-height: 2.6em; }
.tile .value { font-size: 20px; font-weight: 700; }
.tile .target { font-size: 12px; color: var(--muted); }
.sparkline { display: block; width: 100%; height: auto; margin-top: 4px; }
.light { display: inline-flex; align-items: center; gap: 5px; font-size: 12px; }
.light::before { content: ""; width: 10px; height: 10px; border-radius: 50%;
  background: var(--none); }
.light-good .light::before, .light.light-good::before { background: var(--good); }
.light-watch .light::before, .light.light-watch::before { background: var(--watch); }
.light-poor .light::before, .light.light-poor::before { background: var(--poor); }
.crumbs { font-size: 13px; margin-bottom: 6px; }
.crumbs span + span::before { content: " › "; color: var(--muted); }
.periods { display: flex; flex-wrap: wrap; gap: 6px; margin: 8px 0; }
.periods a { padding: 3px 10px; border: 1px solid var(--rule); border-radius: 14px;
  text-decoration: none; }
.periods a[aria-current="true"] { background: var(--accent); color: #fff;
  border-color: var(--accent); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
  font-weight: 600; color: #fff; background: var(--none); }
.badge.critical, .badge.needs_improvement { background: var(--poor); }
.badge.warning, .badge.qualified { background: var(--watch); }
.badge.info { background: var(--accent); }
.badge.excellent { background: var(--good); }
.chart { display: block; width: 100%; max-width: 640px; height: auto; }
.grade-bars { max-width: 480px; }
td.time { white-space: nowrap; }
td small, th small { color: var(--muted); font-weight: normal; font-size: 11px; }
tr.behind td.lag { color: var(--poor); font-weight: 600; }
.nowrap { white-space: nowrap; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
pre, code { font-family: "DejaVu Sans Mono", "Noto Sans Mono CJK JP", monospace;
  font-size: 12.5px; }
pre { background: var(--soft); padding: 10px 12px; white-space: pre-wrap;
  word-break: break-word; border: 1px solid var(--rule); border-radius: 4px; }
.columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr));
  gap: 0 24px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; font-variant-numeric: tabular-nums; }
footer.page { max-width: 1180px; margin: 0 auto; padding: 8px 20px 24px; font-size: 12px;
  color: var(--muted); border-top: 1px solid var(--rule); }
tr, .tile, section { break-inside: avoid; page-break-inside: avoid; }
@media print {
  @page { size: A4; margin: 12mm; }
  body { font-size: 10pt; }
  header.bar { background: none; color: var(--ink); padding: 0 0 4mm;
    border-bottom: 1.5px solid var(--ink); }
  header.bar a { color: var(--ink); }
  nav.pages, nav.languages, form, .no-print { display: none !important; }
  main, footer.page { max-width: none; padding: 0; }
  a { color: var(--ink); text-decoration: none; }
  .tiles { grid-template-columns: repeat(4, 1fr); }
}
"""
