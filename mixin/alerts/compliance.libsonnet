// Compliance findings, per account and rule, as the exporter counts them
// (certcentral_compliance_violations). The rules' own thresholds live in
// the exporter's --config.file; these alerts follow what it reports.
local rule = import '../lib/rule.libsonnet';
local text = import '../lib/text.libsonnet';

{
  prometheusAlerts+:: {
    local c = $._config,
    local listThem = 'List them in Prometheus with: certcentral_compliance_violation{account="{{ $labels.account }}",rule="{{ $labels.rule }}"} == 1\n',

    groups+: [{
      name: 'certcentral-compliance',
      rules: [
        // Findings that weaken or may break TLS: warning, per account and rule.
        rule.alert(
          c,
          'CertCentralComplianceViolation',
          |||
            certcentral_compliance_violations{rule=~"%s"} > 0
          ||| % [text.alternation(c.complianceWarningRules)],
          c.complianceViolationFor,
          'warning',
          '{{ $value }} CertCentral order(s) in account {{ $labels.account }} break compliance rule {{ $labels.rule }}',
          |||
            {{ $value }} issued order(s) in CertCentral account {{ $labels.account }} break the compliance rule "{{ $labels.rule }}" (see the runbook for what the rule means).
          ||| + listThem + |||
            or on the "CertCentral compliance" dashboard. Reissue the affected certificates with a compliant CSR or settings.
          |||,
          keepFiring=true,
        ),

        // Every other rule (duplicates_present, csr_unreadable,
        // renewal_notifications_disabled, out_of_contract, and any rule
        // added later) is informational. Rules with an alert of their own
        // (complianceOwnAlertRules) are left out here.
        rule.alert(
          c,
          'CertCentralComplianceFinding',
          |||
            certcentral_compliance_violations{rule!~"%s"} > 0
          ||| % [text.alternation(c.complianceWarningRules + c.complianceOwnAlertRules)],
          c.complianceFindingFor,
          'info',
          '{{ $value }} CertCentral order(s) in account {{ $labels.account }} have the finding {{ $labels.rule }}',
          |||
            {{ $value }} order(s) in CertCentral account {{ $labels.account }} have the informational compliance finding "{{ $labels.rule }}". Nothing is broken now; review them during working hours.
          ||| + listThem + |||
            or on the "CertCentral compliance" dashboard.
          |||,
          keepFiring=true,
        ),
      ],
    }],
  },
}
