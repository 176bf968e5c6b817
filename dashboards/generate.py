#!/usr/bin/env python3
"""Generates the Grafana dashboards of certcentral-exporter: dashboards/*.json.

The JSON files are what users import; this script is how they are made.
Edit a panel here, then run from the repository root:

    python3 dashboards/generate.py dashboards

and commit the JSON with it (tests/alert_rules.rs and tests/prometheus_e2e.rs
check the JSON, not this script). Python 3.9+, standard library only.
"""
import json
import sys
from pathlib import Path

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "dashboards")
DS = {"type": "prometheus", "uid": "${datasource}"}
A = 'account=~"$account"'
F = 'account=~"$account", container=~"$container", product=~"$product"'
WARNING_RULES = "weak_signature_hash|weak_key|validity_exceeds_baseline|ct_logging_disabled"
OWN_ALERT_RULES = "auto_renew_disabled|approval_pending_too_long|expired_not_renewed"
ORDER_LINK_PATH = "/orders/#/orders/edit/"
# Per-order series carry only account and order_id (plus their own label):
# what describes an order is on its certcentral_order_info series.
INFO = f'certcentral_order_info{{{F}}}'
INFO_LABELS = "common_name, product, container, organization, subaccount_id"


def described(expr):
    """`expr`, per-order series, with the names of their orders joined from
    certcentral_order_info, limited to the selected containers and products."""
    return f'({expr}) * on (account, order_id) group_left ({INFO_LABELS}) {INFO}'


def selected(expr):
    """`expr`, per-order series, limited to the orders of the selected
    containers and products."""
    return f'(({expr}) and on (account, order_id) {INFO})'


class Layout:
    def __init__(self):
        self.next_id = 1
        self.y = 0
        self.x = 0
        self.row_h = 0

    def place(self, w, h):
        if self.x + w > 24:
            self.newline()
        pos = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.x += w
        self.row_h = max(self.row_h, h)
        return pos

    def newline(self):
        self.y += self.row_h
        self.x = 0
        self.row_h = 0

    def id(self):
        i = self.next_id
        self.next_id += 1
        return i


def target(expr, ref="A", legend=None, instant=False, table=False):
    t = {
        "datasource": DS,
        "editorMode": "code",
        "expr": expr,
        "refId": ref,
        "range": not instant,
        "instant": instant,
    }
    if table:
        t["format"] = "table"
    if legend is not None:
        t["legendFormat"] = legend
    return t


def thresholds(*steps):
    out = [{"color": steps[0], "value": None}]
    for value, color in zip(steps[1::2], steps[2::2]):
        out.append({"color": color, "value": value})
    return {"mode": "absolute", "steps": out}


def row(L, title):
    L.newline()
    p = {
        "type": "row",
        "id": L.id(),
        "title": title,
        "collapsed": False,
        "gridPos": L.place(24, 1),
        "panels": [],
    }
    L.newline()
    return p


def stat(L, title, description, targets, w=4, h=4, unit="none", th=None,
         mappings=None, color_mode="background", graph="none", decimals=None):
    defaults = {
        "unit": unit,
        "color": {"mode": "thresholds"},
        "thresholds": th or thresholds("green"),
        "mappings": mappings or [],
    }
    if decimals is not None:
        defaults["decimals"] = decimals
    return {
        "type": "stat",
        "id": L.id(),
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": L.place(w, h),
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": color_mode,
            "graphMode": graph,
            "justifyMode": "auto",
            "orientation": "auto",
            "textMode": "auto",
            "wideLayout": True,
            "showPercentChange": False,
        },
    }


def bargauge(L, title, description, targets, w=12, h=8, unit="none", th=None,
             orientation="horizontal", min_=0):
    return {
        "type": "bargauge",
        "id": L.id(),
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": L.place(w, h),
        "targets": targets,
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "min": min_,
                "color": {"mode": "thresholds"},
                "thresholds": th or thresholds("blue"),
                "mappings": [],
            },
            "overrides": [],
        },
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "orientation": orientation,
            "displayMode": "basic",
            "valueMode": "color",
            "showUnfilled": True,
            "namePlacement": "auto",
            "sizing": "auto",
            "minVizHeight": 16,
            "minVizWidth": 8,
            "maxVizHeight": 300,
        },
    }


def timeseries(L, title, description, targets, w=12, h=8, unit="none", stack=False,
               draw="line", th=None, min_=None):
    custom = {
        "drawStyle": draw,
        "lineWidth": 1,
        "fillOpacity": 10 if draw == "line" else 80,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"mode": "normal" if stack else "none", "group": "A"},
        "axisSoftMin": 0,
        "lineInterpolation": "stepAfter" if draw == "line" else "linear",
        "thresholdsStyle": {"mode": "off"},
    }
    defaults = {
        "unit": unit,
        "color": {"mode": "palette-classic"},
        "custom": custom,
        "thresholds": th or thresholds("green"),
        "mappings": [],
    }
    if min_ is not None:
        defaults["min"] = min_
    return {
        "type": "timeseries",
        "id": L.id(),
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": L.place(w, h),
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "legend": {"displayMode": "table", "placement": "right", "showLegend": True,
                       "calcs": ["lastNotNull"]},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    }


def piechart(L, title, description, targets, w=6, h=8, overrides=None):
    return {
        "type": "piechart",
        "id": L.id(),
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": L.place(w, h),
        "targets": targets,
        "fieldConfig": {
            "defaults": {"unit": "none", "color": {"mode": "palette-classic"}, "mappings": []},
            "overrides": overrides or [],
        },
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "pieType": "donut",
            "displayLabels": ["value"],
            "legend": {"displayMode": "table", "placement": "right", "showLegend": True,
                       "values": ["value", "percent"]},
            "tooltip": {"mode": "single", "sort": "none"},
        },
    }


def by_name(name, *props):
    return {"matcher": {"id": "byName", "options": name},
            "properties": [{"id": k, "value": v} for k, v in props]}


ORDER_LINK = ("links", [{
    "title": "Open order ${__value.raw} in CertCentral",
    "url": "${certcentral_ui}" + ORDER_LINK_PATH + "${__value.raw}",
    "targetBlank": True,
}])

DAYS_CELL = [
    ("custom.cellOptions", {"type": "color-background", "mode": "basic"}),
    ("thresholds", thresholds("dark-red", 0, "red", 7, "orange", 30, "green")),
    ("color", {"mode": "thresholds"}),
    ("custom.width", 100),
]

YES_NO_ACTION = [
    {"type": "value", "options": {
        "1": {"text": "yes", "color": "red", "index": 0},
        "0": {"text": "no", "color": "green", "index": 1}}},
]
ON_OFF = [
    {"type": "value", "options": {
        "1": {"text": "on", "color": "green", "index": 0},
        "0": {"text": "off", "color": "orange", "index": 1}}},
]


def table(L, title, description, targets, columns, sort_by, w=24, h=12, overrides=None,
          hidden=()):
    """columns: ordered list of (field name in the merged frame, display name)."""
    exclude = {name: True for name in ("Time", "__name__", "job", "instance", *hidden)}
    index = {name: i for i, (name, _) in enumerate(columns)}
    rename = {name: display for name, display in columns if display != name}
    return {
        "type": "table",
        "id": L.id(),
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": L.place(w, h),
        "targets": targets,
        "transformations": [
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {
                "excludeByName": exclude,
                "indexByName": index,
                "renameByName": rename,
                "includeByName": {},
            }},
        ],
        "fieldConfig": {
            "defaults": {"custom": {"align": "auto", "filterable": True,
                                    "cellOptions": {"type": "auto"}},
                         "mappings": [], "thresholds": thresholds("green"),
                         "color": {"mode": "thresholds"}},
            "overrides": overrides or [],
        },
        "options": {
            "showHeader": True,
            "cellHeight": "sm",
            "sortBy": [{"displayName": sort_by[0], "desc": sort_by[1]}],
            "footer": {"show": False, "reducer": ["sum"], "countRows": False, "fields": ""},
        },
    }


def variables(extra=(), job=False):
    def query_var(name, label, query):
        return {
            "name": name,
            "label": label,
            "type": "query",
            "datasource": DS,
            "definition": query,
            "query": {"qryType": 1, "query": query,
                      "refId": "PrometheusVariableQueryEditor-VariableQuery"},
            "refresh": 2,
            "regex": "",
            "sort": 1,
            "multi": True,
            "includeAll": True,
            "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "options": [],
            "hide": 0,
            "skipUrlSync": False,
        }

    out = [
        {
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
            "regex": "",
            "current": {},
            "options": [],
            "refresh": 1,
            "hide": 0,
            "includeAll": False,
            "multi": False,
            "skipUrlSync": False,
        },
    ]
    if job:
        out.append(query_var("job", "Scrape job", "label_values(certcentral_up, job)"))
    out += [
        query_var("account", "Account", "label_values(certcentral_up, account)"),
        query_var("container", "Container",
                  'label_values(certcentral_order_info{account=~"$account"}, container)'),
        query_var("product", "Product",
                  'label_values(certcentral_order_info{account=~"$account", container=~"$container"}, product)'),
    ]
    out += list(extra)
    return out


def dashboard(uid, title, description, panels, templating, time_from="now-7d"):
    types = sorted({p["type"] for p in panels if p["type"] != "row"})
    names = {"stat": "Stat", "table": "Table", "bargauge": "Bar gauge",
             "timeseries": "Time series", "piechart": "Pie chart"}
    return {
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.4.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
        ] + [{"type": "panel", "id": t, "name": names[t], "version": ""} for t in types],
        "annotations": {"list": [{
            "builtIn": 1,
            "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True,
            "hide": True,
            "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts",
            "type": "dashboard",
        }]},
        "description": description,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [{
            "type": "dashboards",
            "title": "CertCentral dashboards",
            "tags": ["certcentral"],
            "asDropdown": False,
            "includeVars": True,
            "keepTime": True,
            "targetBlank": False,
            "icon": "external link",
            "tooltip": "",
            "url": "",
        }],
        "panels": panels,
        "refresh": "5m",
        "schemaVersion": 39,
        "tags": ["certcentral", "certificates"],
        "templating": {"list": templating},
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "timezone": "utc",
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }


# ---------------------------------------------------------------- overview
def overview():
    L = Layout()
    P = []
    P.append(row(L, "At a glance"))
    P.append(stat(L, "Need action: expire within 7 days",
                  "Issued, unexpired certificates expiring within 7 days that nothing will replace "
                  "(no renewal, no reissue, auto-renew off or too late): "
                  "sum of the aggregate certcentral_actionable_certificates_expiring{within=\"7d\"}, "
                  "which the exporter serves even when per-order series are limited to a horizon.",
                  [target(f'sum(certcentral_actionable_certificates_expiring{{{F}, within="7d"}}) or vector(0)', instant=True)],
                  th=thresholds("green", 1, "red")))
    P.append(stat(L, "Need action: expire within 30 days",
                  "Issued, unexpired certificates expiring within 30 days that nothing will replace "
                  "(aggregate certcentral_actionable_certificates_expiring{within=\"30d\"}).",
                  [target(f'sum(certcentral_actionable_certificates_expiring{{{F}, within="30d"}}) or vector(0)', instant=True)],
                  th=thresholds("green", 1, "orange")))
    P.append(stat(L, "Expire within 90 days (all)",
                  "All issued, unexpired certificates expiring within 90 days, whether or not a renewal "
                  "or auto-renew will replace them (aggregate certcentral_certificates_expiring{within=\"90d\"}).",
                  [target(f'sum(certcentral_certificates_expiring{{{F}, within="90d"}}) or vector(0)', instant=True)],
                  th=thresholds("blue")))
    P.append(stat(L, "Expired, not renewed",
                  "Orders whose certificate has expired and that no newer order or reissue replaces "
                  "(compliance rule expired_not_renewed, counted per account: the container and product "
                  "filters do not apply). Expired orders stay counted for the exporter's "
                  "--metrics.expired-retention (30 days by default).",
                  [target(f'sum(certcentral_compliance_violations{{{A}, rule="expired_not_renewed"}}) or vector(0)', instant=True)],
                  th=thresholds("green", 1, "dark-red")))
    P.append(stat(L, "Issued orders",
                  "Orders with status issued in the selected accounts (aggregate certcentral_orders; "
                  "the container and product filters do not apply).",
                  [target(f'sum(certcentral_orders{{{A}, status="issued"}}) or vector(0)', instant=True)],
                  th=thresholds("blue")))
    P.append(stat(L, "Certificates with duplicates",
                  "Orders whose certificate has duplicates (compliance rule duplicates_present, counted "
                  "per account; the container and product filters do not apply). The table at the bottom "
                  "lists them.",
                  [target(f'sum(certcentral_compliance_violations{{{A}, rule="duplicates_present"}}) or vector(0)', instant=True)],
                  th=thresholds("green", 1, "blue")))

    P.append(row(L, "What expires next"))
    filt = f'certcentral_certificate_days_remaining{{{A}}} < 90'
    P.append(table(
        L, "Expiring within 90 days (and recently expired), soonest first",
        "Every certificate that expires within 90 days or has expired (within the exporter's "
        "--metrics.expired-retention), sorted by days left. \"Needs action\" is "
        "certcentral_order_actionable: yes when nothing (renewal, reissue, auto-renew in time) will "
        "replace the certificate. Click an order number to open it in CertCentral (the link uses the "
        "certcentral_ui variable). Days left are whole days; 0 means the last valid day; expiry is 23:59:59 "
        "UTC of the valid_till date. (Each query joins the names from certcentral_order_info, which also "
        "drops the metric name, so that the merge joins the five queries' rows on their labels.)",
        [
            target(described(filt), "A", instant=True, table=True),
            target(described(f'certcentral_certificate_expiry_timestamp_seconds{{{A}}} * 1000 and {filt}'), "B", instant=True, table=True),
            target(described(f'certcentral_order_actionable{{{A}}} and {filt}'), "C", instant=True, table=True),
            target(described(f'certcentral_order_auto_renew{{{A}}} and {filt}'), "D", instant=True, table=True),
            target(described(f'certcentral_order_renewed{{{A}}} and {filt}'), "E", instant=True, table=True),
        ],
        [("common_name", "Common name"), ("order_id", "Order"), ("Value #A", "Days left"),
         ("Value #B", "Expires (UTC)"), ("Value #C", "Needs action"), ("Value #D", "Auto-renew"),
         ("Value #E", "Renewed"), ("container", "Container"), ("product", "Product"),
         ("organization", "Organization"), ("account", "Account"), ("subaccount_id", "Subaccount")],
        ("Days left", False), h=14,
        overrides=[
            by_name("Order", ORDER_LINK, ("custom.width", 110)),
            by_name("Days left", *DAYS_CELL),
            by_name("Expires (UTC)", ("unit", "dateTimeAsIso"), ("custom.width", 170)),
            by_name("Needs action", ("mappings", YES_NO_ACTION),
                    ("custom.cellOptions", {"type": "color-text"}), ("custom.width", 110)),
            by_name("Auto-renew", ("mappings", ON_OFF),
                    ("custom.cellOptions", {"type": "color-text"}), ("custom.width", 100)),
            by_name("Renewed", ("mappings", [{"type": "value", "options": {
                "1": {"text": "yes", "color": "green", "index": 0},
                "0": {"text": "no", "color": "text", "index": 1}}}]),
                    ("custom.cellOptions", {"type": "color-text"}), ("custom.width", 90)),
        ]))

    P.append(row(L, "Expiry timeline"))
    weeks = []
    for n in range(13):
        lo, hi = 7 * n, 7 * (n + 1)
        weeks.append(target(
            f'count({selected(f"certcentral_certificate_days_remaining{{{A}}} >= {lo} < {hi}")}) or vector(0)',
            chr(ord("A") + n), legend=f"week {n + 1} (days {lo}-{hi - 1})", instant=True))
    P.append(bargauge(
        L, "Certificates expiring per week, next 13 weeks",
        "How many issued certificates expire in each of the next 13 weeks (week 1 = days 0-6 left), "
        "renewed or not: the renewal and installation work ahead. Needs per-order series up to 91 days "
        "out (keep any per-order horizon at 91 days or more).",
        weeks, w=16, h=9, orientation="vertical", th=thresholds("blue")))
    P.append(bargauge(
        L, "Expiring within 30 days, by container",
        "Issued, unexpired certificates expiring within 30 days per CertCentral container (aggregate "
        "certcentral_certificates_expiring{within=\"30d\"}), so that each team sees its share.",
        [target(f'sort_desc(sum by (container) (certcentral_certificates_expiring{{{F}, within="30d"}}))',
                legend="{{container}}", instant=True)],
        w=8, h=9, th=thresholds("blue")))
    P.append(timeseries(
        L, "Needing action over time, by window",
        "Trend of certcentral_actionable_certificates_expiring by window (7, 30, 90 days): certificates "
        "that nothing will replace. A rising 7d line means renewals are falling behind.",
        [target(f'sum by (within) (certcentral_actionable_certificates_expiring{{{F}}})', legend="within {{within}}")],
        w=12, h=8))
    P.append(bargauge(
        L, "Orders by status",
        "Orders in the selected accounts by CertCentral status (aggregate certcentral_orders; "
        "the container and product filters do not apply).",
        [target(f'sort_desc(sum by (status) (certcentral_orders{{{A}}}))', legend="{{status}}", instant=True)],
        w=12, h=8, th=thresholds("blue")))

    P.append(row(L, "Auto-renew coverage"))
    live = selected(f'certcentral_certificate_days_remaining{{{A}}} >= 0')
    P.append(stat(L, "Auto-renew coverage",
                  "Share of unexpired certificates (with per-order series) whose order has auto-renew on.",
                  [target(f'sum(certcentral_order_auto_renew{{{A}}} and {live}) / count(certcentral_order_auto_renew{{{A}}} and {live})',
                          instant=True)],
                  w=6, h=8, unit="percentunit", decimals=1,
                  th=thresholds("red", 0.5, "orange", 0.9, "green")))
    P.append(piechart(L, "Auto-renew on / off",
                      "Unexpired certificates by the auto-renew setting of their order.",
                      [target(f'count(certcentral_order_auto_renew{{{A}}} == 1 and {live}) or vector(0)', "A", legend="auto-renew on", instant=True),
                       target(f'count(certcentral_order_auto_renew{{{A}}} == 0 and {live}) or vector(0)', "B", legend="auto-renew off", instant=True)],
                      w=6, overrides=[by_name("auto-renew on", ("color", {"mode": "fixed", "fixedColor": "green"})),
                                      by_name("auto-renew off", ("color", {"mode": "fixed", "fixedColor": "orange"}))]))
    P.append(stat(L, "Auto-renew off, expiring within 60 days, nothing replaces them",
                  "Certificates that will lapse unless a person acts: auto-renew off, 0-59 days left, not "
                  "renewed or superseded (what the CertCentralAutoRenewDisabled alert reports).",
                  [target('count(' + selected(f'certcentral_order_auto_renew{{{A}}} == 0 and certcentral_certificate_days_remaining{{{A}}} >= 0 < 60 '
                          f'unless certcentral_order_actionable{{{A}}} == 0') + ') or vector(0)', instant=True)],
                  w=6, h=8, th=thresholds("green", 1, "orange")))
    P.append(bargauge(
        L, "Auto-renew off, by container",
        "Unexpired certificates whose order has auto-renew off, per container: where to turn it on.",
        [target(f'sort_desc(count by (container) ({described(f"certcentral_order_auto_renew{{{A}}} == 0 and {live}")}))',
                legend="{{container}}", instant=True)],
        w=6, h=8, th=thresholds("orange")))

    P.append(row(L, "Duplicates"))
    dup = f'certcentral_order_has_duplicates{{{A}}} == 1'
    P.append(table(
        L, "Orders with duplicate certificates",
        "Orders whose certificate has duplicates (copies issued with other keys, certcentral_order_has_duplicates). "
        "Each duplicate is a private key to keep safe; revoke the ones no longer used.",
        [target(described(f'certcentral_certificate_days_remaining{{{A}}} and {dup}'), "A", instant=True, table=True)],
        [("common_name", "Common name"), ("order_id", "Order"), ("Value", "Days left"),
         ("container", "Container"), ("product", "Product"), ("organization", "Organization"),
         ("account", "Account"), ("subaccount_id", "Subaccount")],
        ("Days left", False), h=8,
        overrides=[by_name("Order", ORDER_LINK), by_name("Days left", *DAYS_CELL)]))

    ui = {
        "name": "certcentral_ui",
        "label": "CertCentral UI",
        "type": "textbox",
        "query": "https://www.digicert.com/secure",
        "current": {"selected": False, "text": "https://www.digicert.com/secure",
                    "value": "https://www.digicert.com/secure"},
        "options": [{"selected": True, "text": "https://www.digicert.com/secure",
                     "value": "https://www.digicert.com/secure"}],
        "hide": 0,
        "skipUrlSync": False,
        "description": "Base URL of the CertCentral web UI, for the order links "
                       "(EU accounts: https://certcentral.digicert.eu/secure).",
    }
    return dashboard(
        "certcentral-overview", "CertCentral overview",
        "DigiCert CertCentral certificates from certcentral-exporter: what expires next, what needs "
        "action, expiry timeline, auto-renew coverage and duplicates.",
        P, variables(extra=[ui]))


# -------------------------------------------------------------- compliance
def compliance():
    L = Layout()
    P = []
    P.append(row(L, "Findings"))
    P.append(stat(L, "Orders breaking a warning-level rule",
                  f"Sum over the rules {WARNING_RULES.replace('|', ', ')} of "
                  "certcentral_compliance_violations (per account; the container and product filters do "
                  "not apply). An order breaking two rules counts twice. These raise "
                  "CertCentralComplianceViolation.",
                  [target(f'sum(certcentral_compliance_violations{{{A}, rule=~"{WARNING_RULES}"}}) or vector(0)', instant=True)],
                  w=6, th=thresholds("green", 1, "orange")))
    P.append(stat(L, "Informational findings",
                  "Sum of certcentral_compliance_violations for every other rule except those with alerts of "
                  f"their own ({OWN_ALERT_RULES.replace('|', ', ')}): duplicates, unreadable CSRs, renewal "
                  "notifications off, out of contract. These raise CertCentralComplianceFinding.",
                  [target(f'sum(certcentral_compliance_violations{{{A}, rule!~"{WARNING_RULES}|{OWN_ALERT_RULES}"}}) or vector(0)', instant=True)],
                  w=6, th=thresholds("green", 1, "blue")))
    P.append(stat(L, "Auto-renew disabled near expiry",
                  "Orders breaking auto_renew_disabled: issued, actionable, auto-renew off and expiring within "
                  "the exporter's warning window.",
                  [target(f'sum(certcentral_compliance_violations{{{A}, rule="auto_renew_disabled"}}) or vector(0)', instant=True)],
                  w=6, th=thresholds("green", 1, "orange")))
    P.append(stat(L, "Approvals pending too long",
                  "Orders breaking approval_pending_too_long: a request pending or submitted longer than the "
                  "exporter's threshold.",
                  [target(f'sum(certcentral_compliance_violations{{{A}, rule="approval_pending_too_long"}}) or vector(0)', instant=True)],
                  w=6, th=thresholds("green", 1, "orange")))
    P.append(bargauge(
        L, "Findings by rule",
        "Orders breaking each compliance rule (certcentral_compliance_violations, per account). "
        "See the README's compliance table for what each rule means and how to change it.",
        [target(f'sort_desc(sum by (rule) (certcentral_compliance_violations{{{A}}}))', legend="{{rule}}", instant=True)],
        w=12, h=10, th=thresholds("blue", 1, "orange")))
    P.append(bargauge(
        L, "Findings by container",
        "Findings (order x rule) per CertCentral container, from the per-order "
        "certcentral_compliance_violation series: which team owns the work.",
        [target(f'sort_desc(count by (container) ({described(f"certcentral_compliance_violation{{{A}}} == 1")}))',
                legend="{{container}}", instant=True)],
        w=12, h=10, th=thresholds("blue", 1, "orange")))
    P.append(timeseries(
        L, "Findings over time, by rule",
        "certcentral_compliance_violations over the selected time range: are findings being fixed?",
        [target(f'sum by (rule) (certcentral_compliance_violations{{{A}}})', legend="{{rule}}")],
        w=24, h=8))

    P.append(row(L, "Orders with findings"))
    P.append(table(
        L, "Orders breaking a rule",
        "One row per order and rule (certcentral_compliance_violation == 1), with days left on the "
        "certificate (empty for orders without one, such as a request waiting for approval). Click the order "
        "number to open it in CertCentral.",
        [target(described(f'certcentral_compliance_violation{{{A}}} == 1'), "A", instant=True, table=True),
         target(described(f'(certcentral_compliance_violation{{{A}}} == 1) * on (job, instance, account, order_id) group_left '
                          f'certcentral_certificate_days_remaining{{{A}}}'), "B", instant=True, table=True)],
        [("rule", "Rule"), ("common_name", "Common name"), ("order_id", "Order"),
         ("Value #B", "Days left"), ("container", "Container"), ("product", "Product"),
         ("organization", "Organization"), ("account", "Account"), ("subaccount_id", "Subaccount")],
        ("Days left", False), h=12, hidden=("Value #A",),
        overrides=[by_name("Order", ORDER_LINK), by_name("Days left", *DAYS_CELL)]))

    P.append(row(L, "Short-lived certificates outlook"))
    P.append(bargauge(
        L, "Orders renewed by hand, under the next validity limit",
        "Issued orders with auto-renew and auto-reissue off (renewed by a person), by the maximum "
        "validity of the next CA/Browser Forum step (certcentral_manual_renewal_orders). At 47 days, "
        "each such certificate needs about 8 renewals a year.",
        [target(f'sum by (max_validity_days) (certcentral_manual_renewal_orders{{{A}}})',
                legend="max validity {{max_validity_days}} days", instant=True)],
        w=12, h=8, th=thresholds("blue")))
    P.append(bargauge(
        L, "Orders that would need too many manual renewals a year",
        "Of those, orders that would need more than `threshold` manual renewals a year at that maximum "
        "validity (certcentral_orders_exceeding_manual_renewal_threshold): candidates for auto-renew, "
        "ACME or another automation.",
        [target(f'sum by (max_validity_days, threshold) (certcentral_orders_exceeding_manual_renewal_threshold{{{A}}})',
                legend="> {{threshold}} renewals/year at {{max_validity_days}} days", instant=True)],
        w=12, h=8, th=thresholds("blue", 1, "orange")))
    P.append(timeseries(
        L, "Manual-renewal workload over time",
        "The two outlook series over time: is automation catching up before the limits fall?",
        [target(f'sum by (max_validity_days) (certcentral_manual_renewal_orders{{{A}}})', "A",
                legend="manual, max {{max_validity_days}} days"),
         target(f'sum by (max_validity_days, threshold) (certcentral_orders_exceeding_manual_renewal_threshold{{{A}}})', "B",
                legend="> {{threshold}}/year at {{max_validity_days}} days")],
        w=24, h=8))
    return dashboard(
        "certcentral-compliance", "CertCentral compliance",
        "Compliance findings of certcentral-exporter by rule and container, the orders behind them, and "
        "the manual-renewal outlook as certificate lifetimes shrink.",
        P, variables())


# ------------------------------------------------------------------ health
def health():
    L = Layout()
    P = []
    J = 'job=~"$job"'
    P.append(row(L, "Status"))
    P.append(stat(L, "Latest poll",
                  "certcentral_up per account: Up when the latest poll read the whole order report (the expiry "
                  "data). Order details have their own panels below.",
                  [target(f'certcentral_up{{{A}}}', legend="{{account}}", instant=True)],
                  w=6, th=thresholds("red", 1, "green"),
                  mappings=[{"type": "value", "options": {
                      "1": {"text": "Up", "color": "green", "index": 0},
                      "0": {"text": "Failing", "color": "red", "index": 1}}}]))
    P.append(stat(L, "Data age",
                  "Time since the latest successful poll, per account "
                  "(time() - certcentral_last_successful_poll_timestamp_seconds).",
                  [target(f'time() - certcentral_last_successful_poll_timestamp_seconds{{{A}}}', legend="{{account}}", instant=True)],
                  w=6, unit="s", th=thresholds("green", 1800, "orange", 3600, "red")))
    P.append(stat(L, "Data age, in poll intervals",
                  "Data age divided by the configured poll interval; CertCentralDataStale fires above 3.",
                  [target(f'(time() - certcentral_last_successful_poll_timestamp_seconds{{{A}}}) / certcentral_poll_interval_seconds{{{A}}}',
                          legend="{{account}}", instant=True)],
                  w=6, decimals=1, th=thresholds("green", 1.5, "orange", 3, "red")))
    P.append(stat(L, "Report rows skipped",
                  "Order report rows the latest successful poll could not understand (certcentral_report_rows_skipped): "
                  "those orders are not monitored.",
                  [target(f'certcentral_report_rows_skipped{{{A}}}', legend="{{account}}", instant=True)],
                  w=6, th=thresholds("green", 1, "orange")))

    P.append(row(L, "Order details"))
    P.append(stat(L, "Details backlog",
                  "Order details and reissue lists due but not read yet (certcentral_details_backlog). "
                  "certcentral_up says only whether the report (the expiry data) was read; a backlog "
                  "means some orders may still show a replaced certificate's expiry. Normal on a first "
                  "start of a large account; CertCentralDetailsBacklogStuck warns when it does not "
                  "shrink for hours.",
                  [target(f'certcentral_details_backlog{{{A}}}', legend="{{account}}", instant=True)],
                  w=6, th=thresholds("green", 1, "orange")))
    P.append(stat(L, "Oldest details",
                  "Age of the oldest order details in use "
                  "(time() - certcentral_details_oldest_timestamp_seconds); refreshes keep it under "
                  "--certcentral.detail-max-age (24 h by default).",
                  [target(f'time() - certcentral_details_oldest_timestamp_seconds{{{A}}}', legend="{{account}}", instant=True)],
                  w=6, unit="s", th=thresholds("green", 86400, "orange", 172800, "red")))
    P.append(timeseries(
        L, "Details due, by reason",
        "certcentral_details_due: new (details unknown for the current report row), reissues (list "
        "missing or older than its details), waiting (orders waiting on a request), refresh (routine).",
        [target(f'sum by (account, reason) (certcentral_details_due{{{A}}})', legend="{{account}} {{reason}}")],
        w=12, stack=True))
    P.append(timeseries(
        L, "Details steps ended early, and failed detail requests",
        "Successful polls whose subaccount or details step ended early (certcentral_poll_incomplete_total, by "
        "step and kind), and detail or reissue requests that failed for one order "
        "(certcentral_order_detail_errors_total). The report was read either way.",
        [target(f'sum by (account, step, kind) (increase(certcentral_poll_incomplete_total{{{A}}}[$__rate_interval])) > 0',
                "A", legend="{{account}} {{step}} ended: {{kind}}"),
         target(f'sum by (account, endpoint, kind) (increase(certcentral_order_detail_errors_total{{{A}}}[$__rate_interval])) > 0',
                "B", legend="{{account}} {{endpoint}} failed: {{kind}}")],
        w=24, draw="bars"))

    P.append(row(L, "Polls"))
    P.append(timeseries(
        L, "Poll duration",
        "How long each account's latest poll took (certcentral_poll_duration_seconds), with the poll "
        "interval for scale: a poll that approaches the interval delays the next.",
        [target(f'certcentral_poll_duration_seconds{{{A}}}', "A", legend="{{account}} duration"),
         target(f'certcentral_poll_interval_seconds{{{A}}}', "B", legend="{{account}} interval")],
        w=12, unit="s"))
    P.append(timeseries(
        L, "Polls by result",
        "Polls per hour by result (certcentral_polls_total).",
        [target(f'sum by (account, result) (rate(certcentral_polls_total{{{A}}}[$__rate_interval])) * 3600',
                legend="{{account}} {{result}}")],
        w=12, unit="none"))
    P.append(timeseries(
        L, "Failed polls by kind",
        "Failed polls by kind (certcentral_poll_errors_total): auth (key rejected), rate_limited, api, "
        "transport, timeout, decode, deadline. Empty while no poll fails.",
        [target(f'sum by (account, kind) (increase(certcentral_poll_errors_total{{{A}}}[$__rate_interval]))',
                legend="{{account}} {{kind}}")],
        w=12, draw="bars", stack=True))
    P.append(timeseries(
        L, "Time since the latest poll",
        "time() - certcentral_last_poll_timestamp_seconds (any outcome) and since the latest successful "
        "one: a saw-tooth up to one poll interval is normal.",
        [target(f'time() - certcentral_last_poll_timestamp_seconds{{{A}}}', "A", legend="{{account}} any poll"),
         target(f'time() - certcentral_last_successful_poll_timestamp_seconds{{{A}}}', "B", legend="{{account}} successful poll")],
        w=12, unit="s"))

    P.append(row(L, "CertCentral API"))
    P.append(timeseries(
        L, "API requests by code",
        "Requests per second to CertCentral by HTTP status (certcentral_api_requests_total); `error` is a "
        "transport failure (timeout, connection, TLS).",
        [target(f'sum by (code) (rate(certcentral_api_requests_total{{{A}}}[$__rate_interval]))', legend="{{code}}")],
        w=12, unit="reqps", stack=True))
    P.append(timeseries(
        L, "API requests by endpoint",
        "Requests per second by endpoint: report pages, order details, reissues, subaccount orders.",
        [target(f'sum by (endpoint) (rate(certcentral_api_requests_total{{{A}}}[$__rate_interval]))', legend="{{endpoint}}")],
        w=12, unit="reqps", stack=True))
    P.append(table(
        L, "API requests in the time range, by endpoint and code",
        "increase(certcentral_api_requests_total[$__range]) by endpoint and code.",
        [target(f'sum by (account, endpoint, code) (increase(certcentral_api_requests_total{{{A}}}[$__range]))',
                "A", instant=True, table=True)],
        [("account", "Account"), ("endpoint", "Endpoint"), ("code", "Code"), ("Value", "Requests")],
        ("Requests", True), w=8, h=8,
        overrides=[by_name("Requests", ("decimals", 0))]))
    P.append(timeseries(
        L, "Rate limiting: time waiting on the client-side limiter",
        "Seconds per second that requests spent waiting on the exporter's own rate limiter "
        "(rate of certcentral_api_rate_limit_wait_seconds_total): 1 means requests waited all the time. "
        "Waiting is the limiter doing its job; it only matters when polls get too long.",
        [target(f'sum by (account) (rate(certcentral_api_rate_limit_wait_seconds_total{{{A}}}[$__rate_interval]))',
                legend="{{account}}")],
        w=8, h=8, unit="percentunit"))
    P.append(timeseries(
        L, "Rate limiting: HTTP 429 answers",
        "Requests CertCentral refused with HTTP 429 (request_limit_exceeded), per endpoint. Should stay "
        "empty: the limiter keeps the exporter under CertCentral's limits, so a 429 means someone else "
        "uses the same API key. Raises CertCentralApiRateLimited.",
        [target(f'sum by (account, endpoint) (increase(certcentral_api_requests_total{{{A}, code="429"}}[$__rate_interval]))',
                legend="{{account}} {{endpoint}}")],
        w=8, h=8, draw="bars"))

    P.append(row(L, "Scrape"))
    P.append(stat(L, "Scrape target up",
                  "Prometheus's own `up` for the exporter's scrape job(s) (job variable).",
                  [target(f'up{{{J}}}', legend="{{instance}}", instant=True)],
                  w=6, th=thresholds("red", 1, "green"),
                  mappings=[{"type": "value", "options": {
                      "1": {"text": "Up", "color": "green", "index": 0},
                      "0": {"text": "Down", "color": "red", "index": 1}}}]))
    P.append(timeseries(
        L, "Scrape duration and size",
        "How long Prometheus takes to scrape /metrics and how many samples it gets: large accounts should "
        "stay well under the scrape timeout.",
        [target(f'scrape_duration_seconds{{{J}}}', "A", legend="{{instance}} duration (s)"),
         target(f'scrape_samples_scraped{{{J}}}', "B", legend="{{instance}} samples")],
        w=12))
    P.append(table(
        L, "Exporter version",
        "certcentral_build_info: the exporter version serving each account.",
        [target(f'certcentral_build_info{{{A}}}', "A", instant=True, table=True)],
        [("account", "Account"), ("version", "Version")], ("Account", False), w=6, h=8,
        hidden=("Value",)))
    return dashboard(
        "certcentral-exporter-health", "CertCentral exporter health",
        "Is certcentral-exporter healthy: polls, data age, CertCentral API requests by code, rate "
        "limiting, scrape.",
        P, variables(job=True), time_from="now-24h")


OUT.mkdir(parents=True, exist_ok=True)
for name, d in [("certcentral-overview", overview()),
                ("certcentral-compliance", compliance()),
                ("certcentral-exporter-health", health())]:
    (OUT / f"{name}.json").write_text(json.dumps(d, indent=2, ensure_ascii=False) + "\n")
    print(name, sum(len(p.get("targets", [])) for p in d["panels"]), "queries")
