// Certificates about to expire (or expired) that nothing will replace, and
// requests waiting for approval.
//
// `certcentral_certificate_days_remaining` is already whole days,
// floor((expiry - now) / 86400), and the expiry instant is 23:59:59 UTC of
// the certificate's valid_till date (its notAfter), so "< 7" means "expires
// within the next 7 x 24 hours", a certificate on its last valid day has 0
// days left, and "expired" means it really has.
//
// Per-order series carry only account and order_id: each rule joins
// certcentral_order_info (rule.named) for the common name, product,
// container, organization and subaccount in its labels and texts. (Two
// exporters polling the same account into one Prometheus would make the
// join ambiguous: add `job, instance` to the `on(...)` lists.)
//
// Only actionable orders page. `certcentral_order_handled` (1) exists only
// for an order that something (a renewal order, a reissue, auto-renew or
// auto-reissue still in time) will replace before it expires, and the
// rules are written as `unless certcentral_order_handled`: an order with
// no such series (needing action, without a verdict, or a subaccount
// order) alerts, so a gap in the data can make an alert early, never
// missing.
local rule = import '../lib/rule.libsonnet';

{
  prometheusAlerts+:: {
    local c = $._config,
    local where = '(product {{ $labels.product }}, container {{ $labels.container }}, organization {{ $labels.organization }}, account {{ $labels.account }})',
    local expiryAt(before, after) =
      '{{ with printf "certcentral_certificate_expiry_timestamp_seconds{account=%q,order_id=%q}" $labels.account $labels.order_id | query }}'
      + before + '{{ . | first | value | humanizeTimestamp }}' + after + '{{ end }}',
    local expiresIn = 'Certificate {{ $labels.common_name }} (order {{ $labels.order_id }}, container {{ $labels.container }}) expires in {{ $value }} days',
    // The annotations the notification templates list per certificate
    // (alerts/templates/certcentral.tmpl): days_left, whole days until the
    // certificate expires (negative once expired; empty when the order has
    // no certificate yet), and action, what to do in a few words.
    local orderDaysLeft = '{{ with printf "certcentral_certificate_days_remaining{account=%q,order_id=%q}" $labels.account $labels.order_id | query }}{{ . | first | value }}{{ end }}',
    local todo(daysLeft, action) = { days_left: daysLeft, action: action },

    groups+: [{
      name: 'certcentral-certificates',
      rules: [
        // soon <= days left < warning window, and nothing will replace it.
        rule.alert(
          c,
          'CertCentralCertificateExpiringSoon',
          rule.named(|||
            certcentral_certificate_days_remaining >= %d < %d
            unless
            certcentral_order_handled
          ||| % [c.certificateExpiringCriticalDays, c.certificateExpiringSoonDays]),
          c.certificateExpiringSoonFor,
          'warning',
          expiresIn,
          'The certificate for {{ $labels.common_name }} on CertCentral order {{ $labels.order_id }} ' + where
          + ' expires in {{ $value }} days' + expiryAt(', at ', '') + '.\n' + |||
            Nothing will replace it: the order is not renewed, no reissue supersedes it, and auto-renew is off or too late to act.
            Renew the order in CertCentral (or turn auto-renew on while there is still time) and install the new certificate.
          |||,
          keepFiring=true,
          annotations=todo('{{ $value }}', 'Renew order {{ $labels.order_id }}'),
        ),

        // 0 <= days left < critical window, and nothing will replace it.
        rule.alert(
          c,
          'CertCentralCertificateExpiringCritical',
          rule.named(|||
            certcentral_certificate_days_remaining >= 0 < %d
            unless
            certcentral_order_handled
          ||| % [c.certificateExpiringCriticalDays]),
          c.certificateExpiringCriticalFor,
          'critical',
          expiresIn,
          'URGENT: the certificate for {{ $labels.common_name }} on CertCentral order {{ $labels.order_id }} ' + where
          + ' expires in {{ $value }} days' + expiryAt(', at ', '') + ' ("0 days" means its last valid day).\n' + |||
            Nothing will replace it: it is not renewed, not superseded by a reissue, and auto-renew will not act in time.
            Renew the order now (validation can take days for OV/EV), then install the new certificate everywhere it is used.
          |||,
          keepFiring=true,
          annotations=todo('{{ $value }}', 'Renew order {{ $labels.order_id }} now'),
        ),

        // Expired, and neither renewed nor superseded. The value is the
        // number of days since expiry (days_remaining is negative once
        // expired, -1 on the first day), so the text reads naturally.
        rule.alert(
          c,
          'CertCentralCertificateExpired',
          rule.named(|||
            -certcentral_certificate_days_remaining > 0
            unless
            certcentral_order_handled
          |||),
          c.certificateExpiredFor,
          'critical',
          'Certificate {{ $labels.common_name }} (order {{ $labels.order_id }}, container {{ $labels.container }}) EXPIRED and was not renewed',
          'The certificate for {{ $labels.common_name }} on CertCentral order {{ $labels.order_id }} ' + where
          + ' expired {{ $value }} day(s) ago' + expiryAt(' (at ', ')') + ', and no newer order or reissue replaces it.\n' + |||
            Anything still serving it is failing TLS handshakes now. Check whether the name is still in use; if it is, order or renew a certificate immediately; if it is not, nothing needs doing (the series disappear after the exporter's --metrics.expired-retention, 30 days by default).
          |||,
          keepFiring=true,
          annotations=todo('-{{ $value }}', 'Renew order {{ $labels.order_id }}, or retire the name'),
        ),

        // Heads-up, not a page: auto-renew off on a certificate expiring
        // soon that nothing else replaces.
        rule.alert(
          c,
          'CertCentralAutoRenewDisabled',
          rule.named(|||
            certcentral_order_auto_renew == 0
            and
            certcentral_certificate_days_remaining >= 0 < %d
            unless
            certcentral_order_handled
          ||| % [c.autoRenewDisabledDays]),
          c.autoRenewDisabledFor,
          'info',
          'Auto-renew is off for {{ $labels.common_name }} (order {{ $labels.order_id }}, container {{ $labels.container }}), which expires within %d days' % c.autoRenewDisabledDays,
          'CertCentral order {{ $labels.order_id }} for {{ $labels.common_name }} (product {{ $labels.product }}, container {{ $labels.container }}, account {{ $labels.account }}) has auto-renew disabled and its certificate expires within '
          + c.autoRenewDisabledDays + ' days'
          + '{{ with printf "certcentral_certificate_days_remaining{account=%q,order_id=%q}" $labels.account $labels.order_id | query }} ({{ . | first | value }} days left){{ end }}. No renewal order exists yet.\n'
          + 'Either turn auto-renew on for the order in CertCentral, or renew it by hand before the expiry warnings start at '
          + c.certificateExpiringSoonDays + ' days.',
          keepFiring=true,
          annotations=todo(orderDaysLeft, 'Turn on auto-renew for order {{ $labels.order_id }}, or renew it'),
        ),

        // A request on the order has waited for approval too long.
        rule.alert(
          c,
          'CertCentralApprovalPendingTooLong',
          rule.named(|||
            certcentral_order_oldest_pending_request_age_seconds > %d * 86400
          ||| % [c.approvalPendingDays]),
          c.approvalPendingFor,
          'warning',
          'A request on order {{ $labels.order_id }} ({{ $labels.common_name }}, container {{ $labels.container }}) has waited for approval for {{ $value | humanizeDuration }}',
          'CertCentral order {{ $labels.order_id }} for {{ $labels.common_name }} (product {{ $labels.product }}, container {{ $labels.container }}, account {{ $labels.account }}) has a certificate request that has been pending or submitted for {{ $value | humanizeDuration }} (threshold: '
          + c.approvalPendingDays + ' days).\n' + |||
            Until an administrator or manager approves (or rejects) it, DigiCert does not start validation and no certificate is issued. Approve or reject it under Certificates > Requests in CertCentral.
          |||,
          keepFiring=true,
          annotations=todo(orderDaysLeft, 'Approve or reject the request on order {{ $labels.order_id }}'),
        ),
      ],
    }],
  },
}
