// Renewal blockers: a domain (DCV) or organization (OV/EV) validation that
// an actionable order's renewal needs, ending soon; and names on
// certificates in use that no active validation covers.
//
// `certcentral_order_validation_expiry_timestamp_seconds` is, per order,
// the end of the validation its renewal needs that ends first (labels
// scope, type, validation_id, validation, besides account and order_id).
// Only actionable orders alert (written `unless ... certcentral_order_handled`:
// past --metrics.per-order-horizon the exporter keeps these series for
// actionable orders only, which have no handled series anyway): the exporter
// flags an auto-renewing order actionable when such a validation ends
// before auto-renew acts (rule validation_expires_before_renewal). Each
// rule joins certcentral_order_info (rule.named) for the order's common
// name, product, container and organization.
local rule = import '../lib/rule.libsonnet';

{
  prometheusAlerts+:: {
    local c = $._config,
    // Days until the validation ends (negative once ended) within
    // `window` (a PromQL comparison chain), for actionable orders, named.
    local daysLeft(window) = rule.named(|||
      (certcentral_order_validation_expiry_timestamp_seconds - time()) / 86400 %s
      unless on (account, order_id)
      certcentral_order_handled
    ||| % [window]),
    local what = 'the {{ $labels.scope }} {{ $labels.type | toUpper }} validation of {{ $labels.validation }} ({{ $labels.scope }} id {{ $labels.validation_id }})',
    local blocks = 'the renewal of CertCentral order {{ $labels.order_id }} ({{ $labels.common_name }}, product {{ $labels.product }}, container {{ $labels.container }}, account {{ $labels.account }})',
    // What the notification templates list per certificate: the days until
    // the validation ends (negative once ended) and what to do.
    local todo = {
      days_left: '{{ $value | printf "%.0f" }}',
      action: 'Revalidate the {{ $labels.scope }} {{ $labels.validation }} ({{ $labels.type | toUpper }})',
    },

    groups+: [{
      name: 'certcentral-validations',
      rules: [
        rule.alert(
          c,
          'CertCentralRenewalValidationExpiring',
          daysLeft('>= %d < %d' % [c.validationExpiringCriticalDays, c.validationExpiringDays]),
          c.validationExpiringFor,
          'warning',
          'Validation {{ $labels.validation }} ({{ $labels.scope }} {{ $labels.type }}) that order {{ $labels.order_id }} ({{ $labels.common_name }}) needs ends in {{ $value | printf "%.0f" }} days',
          'The renewal of this certificate will stall: ' + what + ' ends in {{ $value | printf "%.1f" }} days, before auto-renew acts on ' + blocks + '.\n' + |||
            CertCentral renews or reissues only with current validations; the renewal will go pending and the certificate can lapse while auto-renew seems to have it.
            Revalidate the domain (DCV) or the organization in CertCentral now (see the runbook). Every order it blocks has an alert of its own.
          |||,
          keepFiring=true,
          annotations=todo,
        ),
        rule.alert(
          c,
          'CertCentralRenewalValidationExpiringCritical',
          daysLeft('< %d' % c.validationExpiringCriticalDays),
          c.validationExpiringCriticalFor,
          'critical',
          'Validation {{ $labels.validation }} ({{ $labels.scope }} {{ $labels.type }}) that order {{ $labels.order_id }} ({{ $labels.common_name }}) needs ends in {{ $value | printf "%.0f" }} days',
          'URGENT: ' + what + ' ends in {{ $value | printf "%.1f" }} days (negative: it has ended), and ' + blocks + ' needs it.\n' + |||
            Until it is revalidated, CertCentral cannot renew or reissue the certificate: revalidate the domain (DCV) or the organization now (see the runbook).
          |||,
          keepFiring=true,
          annotations=todo,
        ),
        rule.alert(
          c,
          'CertCentralNamesUncovered',
          'certcentral_uncovered_names > 0',
          c.namesUncoveredFor,
          'info',
          '{{ $value }} name(s) on CertCentral certificates in account {{ $labels.account }} are covered by no active validation',
          |||
            {{ $value }} name(s) on certificates in use in CertCentral account {{ $labels.account }} are covered by no active domain validation of their order's organization: their next renewal or reissue waits on a new DCV.
            List the orders in Prometheus with: certcentral_order_uncovered_names{account="{{ $labels.account }}"} > 0
            or on the "CertCentral validations" dashboard, and prevalidate their domains (see the runbook).
          |||,
          keepFiring=true,
        ),
        rule.alert(
          c,
          'CertCentralValidationsInconclusive',
          'certcentral_domain_validations_conclusive == 0',
          c.validationsInconclusiveFor,
          'warning',
          "The domain list of CertCentral account {{ $labels.account }} covers none of its certificates' names",
          |||
            The domain list the API key reads for CertCentral account {{ $labels.account }} is empty, or covers none of the names on its certificates in use.
            The exporter concludes nothing from it: no name counts as uncovered and no certificate pages for a domain validation, so a domain validation that ends before a renewal cannot be seen either.
            Check that the key's user may see the account's domains (see the runbook).
          |||,
          keepFiring=true,
        ),
      ],
    }],
  },
}
