// Deployment checks: what endpoints serve, as /probe reports it (the
// probe scrape job, _config.probeJob). An endpoint that still serves a
// certificate CertCentral has replaced (by a reissue or a renewal) will
// fail when that certificate expires, whatever CertCentral holds: the page
// names the replacement to install. An endpoint serving a certificate no
// polled account knows is a heads-up; a probe that keeps failing, a
// warning.
local rule = import '../lib/rule.libsonnet';

{
  prometheusAlerts+:: {
    local c = $._config,
    local P = c.probeJobSelector,
    // Days until the served certificate expires within `window` (a PromQL
    // comparison chain), for endpoints serving a superseded certificate,
    // with that certificate's account, order and container (the owner the
    // Alertmanager configuration routes on; the exporter labels the status
    // with the container of an order it knows).
    local superseded(window) = |||
      (
        (certcentral_probe_certificate_expiry_timestamp_seconds{%(P)s} - time()) / 86400 %(window)s
      )
      * on (job, instance) group_left (account, order_id, container)
      certcentral_probe_certificate_status{%(P)s, status="superseded"}
    ||| % { P: P, window: window },
    local replacement = '{{ with printf "certcentral_probe_replacement_expiry_timestamp_seconds{job=%q,instance=%q}" $labels.job $labels.instance | query }}{{ with first . }}Install its replacement: the certificate of order {{ label "replacement_order_id" . }} (a {{ label "by" . }}), valid until {{ value . | humanizeTimestamp }}.{{ end }}{{ else }}Install the certificate CertCentral now holds for this order or its renewal.{{ end }}',
    // What the notification templates list per certificate: the days until
    // the served certificate expires and the certificate to install.
    local todo = {
      days_left: '{{ $value | printf "%.0f" }}',
      action: '{{ with printf "certcentral_probe_replacement_expiry_timestamp_seconds{job=%q,instance=%q}" $labels.job $labels.instance | query }}{{ with first . }}Install the replacement certificate of order {{ label "replacement_order_id" . }} on {{ $labels.instance }}{{ end }}{{ else }}Install the current certificate of order {{ $labels.order_id }} on {{ $labels.instance }}{{ end }}',
    },
    local what = '{{ $labels.instance }} still serves the certificate of CertCentral order {{ $labels.order_id }} (account {{ $labels.account }}) that a reissue or a renewal has replaced, and it expires in {{ $value | printf "%.1f" }} days: the endpoint fails then, whatever CertCentral holds.\n',

    groups+: [{
      name: 'certcentral-deployments',
      rules: [
        rule.alert(
          c,
          'CertCentralSupersededCertificateServed',
          superseded('< %d >= %d' % [c.deploymentExpiringDays, c.deploymentExpiringCriticalDays]),
          c.deploymentExpiringFor,
          'warning',
          '{{ $labels.instance }} serves a replaced certificate of order {{ $labels.order_id }}, expiring in {{ $value | printf "%.0f" }} days',
          what + replacement + '\nDeploy it to this endpoint (see the runbook).',
          keepFiring=true,
          annotations=todo,
        ),
        rule.alert(
          c,
          'CertCentralSupersededCertificateServedCritical',
          superseded('< %d' % c.deploymentExpiringCriticalDays),
          c.deploymentExpiringCriticalFor,
          'critical',
          '{{ $labels.instance }} serves a replaced certificate of order {{ $labels.order_id }}, expiring in {{ $value | printf "%.0f" }} days',
          'URGENT: ' + what + replacement + '\nDeploy it to this endpoint now (see the runbook).',
          keepFiring=true,
          annotations=todo,
        ),
        rule.alert(
          c,
          'CertCentralUnknownCertificateExpiring',
          |||
            (
              (certcentral_probe_certificate_expiry_timestamp_seconds{%(P)s} - time()) / 86400 < %(days)d
            )
            and on (job, instance)
            certcentral_probe_certificate_status{%(P)s, status="unknown"}
          ||| % { P: P, days: c.unknownCertificateExpiringDays },
          c.unknownCertificateExpiringFor,
          'info',
          '{{ $labels.instance }} serves a certificate no polled CertCentral account knows, expiring in {{ $value | printf "%.0f" }} days',
          |||
            {{ $labels.instance }} serves a certificate that is in none of the polled CertCentral accounts (not a certificate of any order, reissue or subaccount order), and it expires in {{ $value | printf "%.1f" }} days.
            It may come from another CA or another account: whoever owns it must renew it; nothing in CertCentral will (see the runbook).
          |||,
          keepFiring=true,
        ),
        rule.alert(
          c,
          'CertCentralProbeFailing',
          |||
            certcentral_probe_success{%s} == 0
          ||| % [P],
          c.probeFailingFor,
          'warning',
          'The TLS probe of {{ $labels.instance }} has failed for %s' % c.probeFailingFor,
          |||
            certcentral-exporter's /probe has not completed a TLS handshake with {{ $labels.instance }} for a while: the endpoint is down, unreachable from the exporter, or does not speak TLS on that port.
            While this lasts, nothing says which certificate it serves (see the runbook).
          |||,
        ),
      ],
    }],
  },
}
