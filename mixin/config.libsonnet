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

    // Keeps the alerts about CertCentral's data (certificates, compliance,
    // validations, skipped report rows, unknown served certificates)
    // firing through a missed scrape or an exporter restart, so that
    // neither is told as "resolved" then "firing" again (the exporter's
    // own alerts are about the exporter and follow it). Needs Prometheus >= 2.42 (Prometheus
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
    exporterAbsentFor: '10m',
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

    // Alertmanager: the routing, grouping, inhibition and receivers of
    // alerts/alertmanager.yml and of the kustomize base's AlertmanagerConfig
    // (docs/alerts.md, "Alertmanager").
    //
    // Who owns which certificates: team name -> the CertCentral containers
    // (their exact names) whose alerts it gets. The certificate, validation
    // and deployment alerts carry the order's `container`; each team gets a
    // route of its own for its containers, one message per alert name, to
    // the receivers <team>-pager, <team>-chat and <team>-tickets
    // (alertmanagerReceiverKinds). Certificates of no team's container go to
    // the certcentral-* receivers, one message per container and alert name.
    //   alertOwners: { web: ['Web Platform', 'Example Corp'], payments: ['Payments, EU'] },
    alertOwners: {},
    // Receiver names: '<prefix or team>-<kind>', the kind by severity.
    alertmanagerReceiverPrefix: 'certcentral',
    alertmanagerReceiverKinds: { critical: 'pager', warning: 'chat', info: 'tickets' },
    // What each receiver sends to, in alertmanager.yml's words (a receiver's
    // fields but `name`): team is null for the certcentral-* receivers. The
    // defaults are placeholders at example.com: a paging gateway's webhook
    // plus the Slack channel for critical, Slack for warning, e-mail for
    // info, with the templates of alerts/templates/certcentral.tmpl. Replace
    // them, e.g. everything to one webhook:
    //   alertmanagerIntegrations(team, severity):: { webhook_configs: [{ url: 'http://hooks.internal/' + severity }] },
    alertmanagerIntegrations(team, severity)::
      local who = if team == null then 'certcentral' else team;
      local slack = {
        api_url: 'https://hooks.slack.example.com/services/REPLACE/WITH/YOURS',
        channel: '#%s-certificates' % who,
        send_resolved: true,
        title: '{{ template "certcentral.slack.title" . }}',
        title_link: '{{ template "certcentral.alertmanager.url" . }}',
        text: '{{ template "certcentral.slack.text" . }}',
        color: '{{ template "certcentral.slack.color" . }}',
        fallback: '{{ template "certcentral.slack.title" . }}',
      };
      {
        critical: {
          webhook_configs: [{ url: 'https://pager.example.com/alertmanager/%s' % who, send_resolved: true }],
          slack_configs: [slack],
        },
        warning: { slack_configs: [slack] },
        info: {
          email_configs: [{
            to: '%s-certificates@example.com' % who,
            from: 'alertmanager@example.com',
            smarthost: 'smtp.example.com:587',
            headers: { Subject: '{{ template "certcentral.email.subject" . }}' },
            html: '{{ template "certcentral.email.html" . }}',
            text: '{{ template "certcentral.email.text" . }}',
          }],
        },
      }[severity],
    // The same for the AlertmanagerConfig, in the Operator's words: URLs
    // come from keys of a Secret (alertmanagerSecretName) in its namespace.
    alertmanagerOperatorIntegrations(team, severity)::
      local who = if team == null then 'certcentral' else team;
      local secret = self.alertmanagerSecretName;
      local key(what) = { name: secret, key: if team == null then what else '%s-%s' % [team, what] };
      local slack = {
        apiURL: key('slack-api-url'),
        channel: '#%s-certificates' % who,
        sendResolved: true,
        title: '{{ template "certcentral.slack.title" . }}',
        titleLink: '{{ template "certcentral.alertmanager.url" . }}',
        text: '{{ template "certcentral.slack.text" . }}',
        color: '{{ template "certcentral.slack.color" . }}',
        fallback: '{{ template "certcentral.slack.title" . }}',
      };
      {
        critical: {
          webhookConfigs: [{ urlSecret: key('pager-url'), sendResolved: true }],
          slackConfigs: [slack],
        },
        warning: { slackConfigs: [slack] },
        info: {
          emailConfigs: [{
            to: '%s-certificates@example.com' % who,
            from: 'alertmanager@example.com',
            smarthost: 'smtp.example.com:587',
            headers: [{ key: 'Subject', value: '{{ template "certcentral.email.subject" . }}' }],
            html: '{{ template "certcentral.email.html" . }}',
            text: '{{ template "certcentral.email.text" . }}',
          }],
        },
      }[severity],
    alertmanagerSecretName: 'certcentral-alertmanager',
    // How long Alertmanager waits before a group's first message
    // (group_wait), before telling of a change in it (group_interval), and
    // before repeating it unchanged (repeat_interval), by severity. The
    // rules have waited their `for` already, and the alerts of one rule
    // that a poll brings arrive in the same evaluation, so group_wait only
    // gathers what arrives together: 30s for a page, more where nobody
    // waits. group_interval is also how long a resolve and a re-fire cancel
    // out. A page comes back every 4 hours while unacknowledged (once or
    // twice a shift), the channel is reminded daily, the ticket queue
    // weekly.
    alertmanagerTimings: {
      critical: { group_wait: '30s', group_interval: '5m', repeat_interval: '4h' },
      warning: { group_wait: '2m', group_interval: '30m', repeat_interval: '24h' },
      info: { group_wait: '10m', group_interval: '6h', repeat_interval: '7d' },
    },
    // group_by: per-certificate alerts (certificate, validation and
    // deployment alerts) of no team, of a team, account alerts, and the
    // probe's per-endpoint alerts. A certificate's owner is its container,
    // or, for a subaccount's order (which has no container), the subaccount.
    alertmanagerGroupBy: {
      certificate: ['alertname', 'container', 'subaccount_id'],
      team: ['alertname'],
      account: ['alertname', 'account'],
      probe: ['alertname', 'job'],
    },
    // Template files alertmanager.yml loads, relative to its own directory.
    alertmanagerTemplateFiles: ['templates/certcentral.tmpl'],
    // The AlertmanagerConfig object (deploy/kubernetes/base/): its labels must
    // match the Alertmanager resource's alertmanagerConfigSelector.
    alertmanagerConfigName: 'certcentral-exporter',
    alertmanagerConfigLabels: {
      'app.kubernetes.io/name': 'certcentral-exporter',
      'app.kubernetes.io/component': 'alert-routing',
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
