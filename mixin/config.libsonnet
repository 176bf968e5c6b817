// Everything an operator may want to change in the rules and dashboards,
// in one place. Override any field from your own jsonnet:
//
//   (import 'mixin.libsonnet') + { _config+:: { exporterJob: 'my-job' } }
//
// and render with mixin/generate.sh (see docs/alerts.md, "Changing
// thresholds, the job name and the runbook links").
{
  _config+:: {
    // The scrape job of the exporter: the `job` label Prometheus gives its
    // targets (with the Prometheus Operator, the ServiceMonitor's Service
    // name). Only the two rules built on `up` and the description of
    // CertCentralExporterAbsent use it.
    exporterJob: 'certcentral-exporter',
    jobSelector: 'job="%s"' % self.exporterJob,

    // Where each alert's runbook_url points: this URL, then `#` and the
    // alert name in lower case (the section anchors of docs/runbooks.md).
    runbookBaseURL: 'https://github.com/certcentral-exporter/certcentral-exporter/blob/main/docs/runbooks.md',

    // Keeps certificate and compliance alerts firing through a missed
    // scrape or an exporter restart. Needs Prometheus >= 2.42 (Prometheus
    // Operator >= 0.66); null leaves keep_firing_for out of every rule.
    keepFiringFor: '15m',

    // Certificate expiry, in whole days left
    // (certcentral_certificate_days_remaining).
    certificateExpiringSoonDays: 30,  // warning below this ...
    certificateExpiringSoonFor: '1h',
    certificateExpiringCriticalDays: 7,  // ... critical below this
    certificateExpiringCriticalFor: '15m',
    certificateExpiredFor: '15m',
    // Heads-up (severity info) when auto-renew is off this close to expiry.
    autoRenewDisabledDays: 60,
    autoRenewDisabledFor: '1h',
    // A certificate request waiting for approval longer than this.
    approvalPendingDays: 3,
    approvalPendingFor: '1h',

    // Compliance rules (the exporter's `rule` label) that warn; every other
    // rule is informational, except those with an alert of their own.
    complianceWarningRules: ['weak_signature_hash', 'weak_key', 'validity_exceeds_baseline', 'ct_logging_disabled'],
    complianceOwnAlertRules: ['auto_renew_disabled', 'approval_pending_too_long', 'expired_not_renewed', 'validation_expires_before_renewal', 'name_not_covered'],
    complianceViolationFor: '1h',
    complianceFindingFor: '1h',

    // Renewal blockers: a validation an actionable order's renewal needs,
    // in days until it ends (certcentral_order_validation_expiry_timestamp_seconds).
    validationExpiringDays: 30,  // warning below this ...
    validationExpiringFor: '1h',
    validationExpiringCriticalDays: 7,  // ... critical below this
    validationExpiringCriticalFor: '15m',
    // Names no active validation covers (severity info).
    namesUncoveredFor: '1h',
    // The domain list says nothing of the account's names this long (the
    // list is read hourly).
    validationsInconclusiveFor: '2h',

    // Deployment checks: the scrape job that probes endpoints through the
    // exporter's /probe (docs/metrics.md, "Deployment checks").
    probeJob: 'certcentral-probe',
    probeJobSelector: 'job="%s"' % self.probeJob,
    // An endpoint serving a replaced certificate, in days until it expires.
    deploymentExpiringDays: 30,  // warning below this ...
    deploymentExpiringFor: '10m',
    deploymentExpiringCriticalDays: 7,  // ... critical below this
    deploymentExpiringCriticalFor: '5m',
    // An endpoint serving a certificate no polled account knows (info).
    unknownCertificateExpiringDays: 14,
    unknownCertificateExpiringFor: '1h',
    // A probe that fails this long.
    probeFailingFor: '15m',

    // The exporter itself.
    exporterDownFor: '5m',
    exporterAbsentFor: '15m',
    pollFailingFor: '30m',
    dataStalePollIntervals: 3,  // stale after this many poll intervals
    dataStaleFor: '5m',
    apiRateLimitedWindow: '30m',
    apiRateLimitedFor: '10m',
    apiErrorsRatio: 0.10,
    apiErrorsWindow: '30m',
    apiErrorsFor: '30m',
    reportRowsSkippedFor: '1h',
    detailsBacklogStuckHours: 3,
    detailsBacklogStuckFor: '30m',

    // The PrometheusRule object (alerts/prometheusrule.yaml). The Prometheus
    // Operator picks it up when these labels match the Prometheus
    // resource's ruleSelector: kube-prometheus-stack selects
    // `release: <helm release name>` by default.
    prometheusRuleName: 'certcentral-exporter',
    prometheusRuleLabels: {
      'app.kubernetes.io/name': 'certcentral-exporter',
      'app.kubernetes.io/component': 'alerting-rules',
      release: 'kube-prometheus-stack',
    },

    // Dashboard defaults.
    dashboardTags: ['certcentral', 'certificates'],
    dashboardRefresh: '5m',
    dashboardTimezone: 'utc',
    dashboardTimeFrom: 'now-7d',
    healthDashboardTimeFrom: 'now-24h',
    // The CertCentral web UI the order links open (EU accounts:
    // https://certcentral.digicert.eu/secure); a dashboard variable too.
    certcentralUI: 'https://www.digicert.com/secure',
  },
}
