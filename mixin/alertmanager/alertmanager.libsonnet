// What Alertmanager does with the mixin's alerts: one route subtree for
// every CertCentral* alert (by owner, then by severity), its receivers and
// the inhibit rules, as `alertmanagerConfig` (alerts/alertmanager.yml's
// content) and `alertmanagerOperatorConfig` (the spec of the Prometheus
// Operator's AlertmanagerConfig). Everything tunable is in _config
// (config.libsonnet, "Alertmanager"); docs/alerts.md explains each choice.
//
// Labels the routes and inhibit rules rely on, as the rules' expressions
// leave them (tests/alert_rules.rs checks them against the promtool tests):
// - per-order alerts (certificates, validations) join certcentral_order_info:
//   job, instance, account, order_id, container, common_name, ...; the
//   validation ones also validation_id;
// - deployment alerts: the probe job's job and instance, and account,
//   order_id and container from certcentral_probe_certificate_status;
// - account alerts: job, instance, account;
// - CertCentralExporterDown: job, instance; CertCentralExporterAbsent: job
//   only (absent() keeps the selector's equality labels).
local names(rule) = [r.alert for g in rule.groups for r in g.rules if std.objectHas(r, 'alert')];

{
  local c = $._config,
  local alertNames = names($.prometheusAlerts),
  // A list of alert names, each checked to be an alert of the mixin.
  local alerts(list) = [
    assert std.member(alertNames, name) : 'Alertmanager configuration: no alert %s in the mixin' % name;
    name
    for name in list
  ],

  // Alerts about one certificate: an order (certificate, validation) or an
  // endpoint serving an order's certificate (deployment). They carry
  // `container`, the owner.
  local expiry = alerts(['CertCentralCertificateExpiringSoon', 'CertCentralCertificateExpiringCritical', 'CertCentralCertificateExpired']),
  local orders = expiry + alerts(['CertCentralAutoRenewDisabled', 'CertCentralApprovalPendingTooLong', 'CertCentralRenewalValidationExpiring', 'CertCentralRenewalValidationExpiringCritical']),
  local deployments = alerts(['CertCentralSupersededCertificateServed', 'CertCentralSupersededCertificateServedCritical']),
  local perCertificate = orders + deployments,
  // The probe's alerts about an endpoint, which no order owns.
  local probe = alerts(['CertCentralUnknownCertificateExpiring', 'CertCentralProbeFailing']),
  // Everything computed from the exporter's own scrape (its job and
  // instance): the per-order alerts and the account alerts.
  local fromExporter = orders + alerts([
    'CertCentralComplianceViolation',
    'CertCentralComplianceFinding',
    'CertCentralNamesUncovered',
    'CertCentralValidationsInconclusive',
    'CertCentralPollFailing',
    'CertCentralDataStale',
    'CertCentralApiRateLimited',
    'CertCentralApiErrors',
    'CertCentralReportRowsSkipped',
    'CertCentralDetailsBacklogStuck',
  ]),
  local severities = ['critical', 'warning', 'info'],

  // Matchers as data: Alertmanager writes them as strings, the Operator as
  // objects.
  local matcher(name, op, value) = { name: name, op: op, value: value },
  local anyOf(list) = std.join('|', list),
  local regexSpecial = std.stringChars('\\.+*?()|[]{}^$'),
  local regexEscape(s) = std.join('', [if std.member(regexSpecial, ch) then '\\' + ch else ch for ch in std.stringChars(s)]),
  local matcherString(m) = '%s%s"%s"' % [m.name, m.op, std.strReplace(std.strReplace(m.value, '\\', '\\\\'), '"', '\\"')],
  local matcherObject(m) = { name: m.name, matchType: m.op, value: m.value },

  local receiver(team, severity) =
    '%s-%s' % [if team == null then c.alertmanagerReceiverPrefix else team, c.alertmanagerReceiverKinds[severity]],
  local timings(severity) = c.alertmanagerTimings[severity],
  local bySeverity(team) = [
    {
      matchers: [matcher('severity', '=', severity)],
      receiver: receiver(team, severity),
    } + timings(severity)
    for severity in severities
  ],
  local teams = std.objectFields(c.alertOwners),

  // The route subtree, with matchers as data.
  local tree = {
    '#': |||
      Every CertCentral alert. Paste this route under your root route's
      `routes:` (before any route that would catch these alerts first).
    |||,
    matchers: [matcher('alertname', '=~', 'CertCentral.*')],
    receiver: receiver(null, 'warning'),
    group_by: c.alertmanagerGroupBy.account,
    routes: [
      {
        '#': 'Team %s: the certificates of its containers, one message per alert name, to its own receivers.' % team,
        matchers: [matcher('container', '=~', '^(%s)$' % anyOf([regexEscape(name) for name in c.alertOwners[team]]))],
        receiver: receiver(team, 'warning'),
        group_by: c.alertmanagerGroupBy.team,
        routes: bySeverity(team),
      }
      for team in teams
    ] + [
      {
        '#': 'Certificates of no team: one message per container (the owner) and alert name.',
        matchers: [matcher('alertname', '=~', anyOf(perCertificate))],
        group_by: c.alertmanagerGroupBy.certificate,
        routes: bySeverity(null),
      },
      {
        '#': "The probe's endpoints that no order owns: one message per probe job and alert name.",
        matchers: [matcher('alertname', '=~', anyOf(probe))],
        group_by: c.alertmanagerGroupBy.probe,
        routes: bySeverity(null),
      },
    ] + [
      m { '#': if m.matchers[0].value == 'critical' then 'Account and exporter alerts: one message per account and alert name.' else null }
      for m in bySeverity(null)
    ],
  } + timings('warning'),

  // Which alert mutes which while it fires. Every `equal` label is on both
  // sides (see the list at the top).
  local inhibitions = [
    {
      '#': |||
        A critical or expired certificate needs no warning and no auto-renew heads-up
        on top: the order's most urgent alert only.
      |||,
      source: [matcher('alertname', '=~', anyOf(alerts(['CertCentralCertificateExpiringCritical', 'CertCentralCertificateExpired'])))],
      target: [matcher('alertname', '=~', anyOf(alerts(['CertCentralCertificateExpiringSoon', 'CertCentralAutoRenewDisabled'])))],
      equal: ['account', 'order_id'],
    },
    {
      '#': 'The critical validation alert replaces the warning for the same order and validation.',
      source: [matcher('alertname', '=', alerts(['CertCentralRenewalValidationExpiringCritical'])[0])],
      target: [matcher('alertname', '=', alerts(['CertCentralRenewalValidationExpiring'])[0])],
      equal: ['account', 'order_id', 'validation_id'],
    },
    {
      '#': 'The critical deployment alert replaces the warning for the same endpoint.',
      source: [matcher('alertname', '=', alerts(['CertCentralSupersededCertificateServedCritical'])[0])],
      target: [matcher('alertname', '=', alerts(['CertCentralSupersededCertificateServed'])[0])],
      equal: ['job', 'instance'],
    },
    {
      '#': |||
        An endpoint serving a replaced (reissued) certificate of an order that itself
        expires: installing the reissue buys nothing, since it expires with its order.
        The action is renewing, which the expiry alert says. A critical expiry mutes
        both deployment alerts of the order ...
      |||,
      source: [matcher('alertname', '=~', anyOf(alerts(['CertCentralCertificateExpiringCritical', 'CertCentralCertificateExpired'])))],
      target: [matcher('alertname', '=~', anyOf(deployments))],
      equal: ['account', 'order_id'],
    },
    {
      '#': '... the expiry warning only the deployment warning: a critical deployment alert still pages.',
      source: [matcher('alertname', '=', alerts(['CertCentralCertificateExpiringSoon'])[0])],
      target: [matcher('alertname', '=', alerts(['CertCentralSupersededCertificateServed'])[0])],
      equal: ['account', 'order_id'],
    },
    {
      '#': |||
        While Prometheus cannot scrape the exporter, the alerts computed from that
        scrape are muted: they would otherwise be sent as resolved once
        keep_firing_for runs out, and as new when the exporter is back.
      |||,
      source: [matcher('alertname', '=', alerts(['CertCentralExporterDown'])[0])],
      target: [matcher('alertname', '=~', anyOf(fromExporter))],
      equal: ['job', 'instance'],
    },
    {
      '#': 'The same while the exporter has no target at all (absent() keeps only the job label).',
      source: [matcher('alertname', '=', alerts(['CertCentralExporterAbsent'])[0])],
      target: [matcher('alertname', '=~', anyOf(fromExporter))],
      equal: ['job'],
    },
    {
      '#': |||
        While an account's data is stale, its certificates' warning and info alerts
        are muted. Critical ones are not: the stale data is still the last evidence
        of an expiry date, and a missed page is an outage.
      |||,
      source: [matcher('alertname', '=', alerts(['CertCentralDataStale'])[0])],
      target: [
        matcher('alertname', '=~', anyOf(orders)),
        matcher('severity', '=~', 'warning|info'),
      ],
      equal: ['job', 'instance', 'account'],
    },
  ],

  local receivers(integrations) = [
    { name: receiver(team, severity) } + integrations(team, severity)
    for team in [null] + teams
    for severity in severities
  ],

  // Prunes the `#: null` comments of the route list above.
  local pruned(route) = {
    [key]: route[key]
    for key in std.objectFields(route)
    if !(key == '#' && route[key] == null) && key != 'routes'
  } + (if std.objectHas(route, 'routes') then { routes: [pruned(r) for r in route.routes] } else {}),

  // The route subtree in alertmanager.yml's words.
  local amRoute(route) = {
    [key]: if key == 'matchers' then [matcherString(m) for m in route[key]] else route[key]
    for key in std.objectFields(route)
    if key != 'routes'
  } + (if std.objectHas(route, 'routes') then { routes: [amRoute(r) for r in route.routes] } else {}),

  // ... and in the Operator's.
  local camel = {
    group_by: 'groupBy',
    group_wait: 'groupWait',
    group_interval: 'groupInterval',
    repeat_interval: 'repeatInterval',
  },
  local operatorRoute(route) = {
    [if std.objectHas(camel, key) then camel[key] else key]:
      if key == 'matchers' then [matcherObject(m) for m in route[key]] else route[key]
    for key in std.objectFields(route)
    if key != 'routes'
  } + (if std.objectHas(route, 'routes') then { routes: [operatorRoute(r) for r in route.routes] } else {}),

  alertmanagerRoute:: amRoute(pruned(tree)),

  // Alertmanager's notification templates, by file name: the receivers'
  // texts use them by name.
  alertmanagerTemplates:: { 'certcentral.tmpl': importstr 'certcentral.tmpl' },

  alertmanagerConfig:: {
    templates: c.alertmanagerTemplateFiles,
    route: {
      '#': |||
        Your root route. Alerts other than CertCentral's go to `default`, which
        sends nothing: replace it with your own.
      |||,
      receiver: 'default',
      routes: [$.alertmanagerRoute],
    },
    inhibit_rules: [
      {
        '#': rule['#'],
        source_matchers: [matcherString(m) for m in rule.source],
        target_matchers: [matcherString(m) for m in rule.target],
        equal: rule.equal,
      }
      for rule in inhibitions
    ],
    receivers: [{ name: 'default' }] + receivers(c.alertmanagerIntegrations),
  },

  alertmanagerOperatorConfig:: {
    route: operatorRoute(pruned(tree) {
      '#': |||
        Every CertCentral alert. The Operator puts this route under the
        Alertmanager's root route, with the namespace matcher it adds.
      |||,
    }),
    receivers: receivers(c.alertmanagerOperatorIntegrations),
    inhibitRules: [
      {
        '#': rule['#'],
        sourceMatch: [matcherObject(m) for m in rule.source],
        targetMatch: [matcherObject(m) for m in rule.target],
        equal: rule.equal,
      }
      for rule in inhibitions
    ],
  },
}
