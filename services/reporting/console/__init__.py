"""The operations console reporting serves at `/`: HTML pages in en, zh and ja, drawn with
Jinja2 templates (services/reporting/templates/console) from the same read side as `/api/v1`."""
