// "CertCentral compliance": findings by rule and container, the orders
// behind them, and the manual-renewal outlook as certificate lifetimes
// shrink.
local cc = import '../lib/certcentral.libsonnet';
local p = import '../lib/panels.libsonnet';
local text = import '../lib/text.libsonnet';

{
  grafanaDashboards+:: {
    local c = $._config,
    local A = cc.accountFilter,
    local t = p.target,
    local th = p.thresholds,
    local warning = text.alternation(c.complianceWarningRules),
    local ownAlert = text.alternation(c.complianceOwnAlertRules),
    local ruleStat(rule, title, description) = p.stat(
      title,
      description,
      [t('sum(certcentral_compliance_violations{%s, rule="%s"}) or vector(0)' % [A, rule], instant=true)],
      w=6,
      th=th(['green', 1, 'orange']),
    ),

    'certcentral-compliance.json': p.dashboard(
      c,
      'certcentral-compliance',
      'CertCentral compliance',
      'Compliance findings of certcentral-exporter by rule and container, the orders behind them, and the manual-renewal outlook as certificate lifetimes shrink.',
      [
        p.row('Findings'),
        p.stat(
          'Orders breaking a warning-level rule',
          'Sum over the rules %s of certcentral_compliance_violations (per account; the container and product filters do not apply). An order breaking two rules counts twice. These raise CertCentralComplianceViolation.' % text.list(c.complianceWarningRules),
          [t('sum(certcentral_compliance_violations{%s, rule=~"%s"}) or vector(0)' % [A, warning], instant=true)],
          w=6,
          th=th(['green', 1, 'orange']),
        ),
        p.stat(
          'Informational findings',
          'Sum of certcentral_compliance_violations for every other rule except those with alerts of their own (%s): duplicates, unreadable CSRs, renewal notifications off, out of contract. These raise CertCentralComplianceFinding.' % text.list(c.complianceOwnAlertRules),
          [t('sum(certcentral_compliance_violations{%s, rule!~"%s|%s"}) or vector(0)' % [A, warning, ownAlert], instant=true)],
          w=6,
          th=th(['green', 1, 'blue']),
        ),
        ruleStat(
          'auto_renew_disabled',
          'Auto-renew disabled near expiry',
          "Orders breaking auto_renew_disabled: issued, actionable, auto-renew off and expiring within the exporter's warning window.",
        ),
        ruleStat(
          'approval_pending_too_long',
          'Approvals pending too long',
          "Orders breaking approval_pending_too_long: a request pending or submitted longer than the exporter's threshold.",
        ),
        p.bargauge(
          'Findings by rule',
          'Orders breaking each compliance rule (certcentral_compliance_violations, per account). See the compliance rules table in docs/metrics.md for what each rule means and how to change it.',
          [t('sort_desc(sum by (rule) (certcentral_compliance_violations{%s}))' % A, legend='{{rule}}', instant=true)],
          w=12,
          h=10,
          th=th(['blue', 1, 'orange']),
        ),
        p.bargauge(
          'Findings by container',
          'Findings (order x rule) per CertCentral container, from the per-order certcentral_compliance_violation series: which team owns the work.',
          [t('sort_desc(count by (container) (%s))' % cc.described('certcentral_compliance_violation{%s} == 1' % A), legend='{{container}}', instant=true)],
          w=12,
          h=10,
          th=th(['blue', 1, 'orange']),
        ),
        p.timeseries(
          'Findings over time, by rule',
          'certcentral_compliance_violations over the selected time range: are findings being fixed?',
          [t('sum by (rule) (certcentral_compliance_violations{%s})' % A, legend='{{rule}}')],
          w=24,
          h=8,
        ),

        p.row('Orders with findings'),
        p.table(
          'Orders breaking a rule',
          'One row per order and rule (certcentral_compliance_violation == 1), with days left on the certificate (empty for orders without one, such as a request waiting for approval). Click the order number to open it in CertCentral.',
          [
            t(cc.described('certcentral_compliance_violation{%s} == 1' % A), 'A', instant=true, table=true),
            t(cc.described('(certcentral_compliance_violation{%(A)s} == 1) * on (job, instance, account, order_id) group_left certcentral_certificate_days_remaining{%(A)s}' % { A: A }), 'B', instant=true, table=true),
          ],
          [
            ['rule', 'Rule'],
            ['common_name', 'Common name'],
            ['order_id', 'Order'],
            ['Value #B', 'Days left'],
            ['container', 'Container'],
            ['product', 'Product'],
            ['organization', 'Organization'],
            ['account', 'Account'],
            ['subaccount_id', 'Subaccount'],
          ],
          ['Days left', false],
          h=12,
          hidden=['Value #A'],
          overrides=[p.byName('Order', [cc.orderLink]), p.byName('Days left', cc.daysCell(c))],
        ),

        p.row('Short-lived certificates outlook'),
        p.bargauge(
          'Orders renewed by hand, under the next validity limit',
          'Issued orders with auto-renew and auto-reissue off (renewed by a person), by the maximum validity of the next CA/Browser Forum step (certcentral_manual_renewal_orders). At 47 days, each such certificate needs about 8 renewals a year.',
          [t('sum by (max_validity_days) (certcentral_manual_renewal_orders{%s})' % A, legend='max validity {{max_validity_days}} days', instant=true)],
          w=12,
          h=8,
          th=th(['blue']),
        ),
        p.bargauge(
          'Orders that would need too many manual renewals a year',
          'Of those, orders that would need more than `threshold` manual renewals a year at that maximum validity (certcentral_orders_exceeding_manual_renewal_threshold): candidates for auto-renew, ACME or another automation.',
          [t('sum by (max_validity_days, threshold) (certcentral_orders_exceeding_manual_renewal_threshold{%s})' % A, legend='> {{threshold}} renewals/year at {{max_validity_days}} days', instant=true)],
          w=12,
          h=8,
          th=th(['blue', 1, 'orange']),
        ),
        p.timeseries(
          'Manual-renewal workload over time',
          'The two outlook series over time: is automation catching up before the limits fall?',
          [
            t('sum by (max_validity_days) (certcentral_manual_renewal_orders{%s})' % A, 'A', legend='manual, max {{max_validity_days}} days'),
            t('sum by (max_validity_days, threshold) (certcentral_orders_exceeding_manual_renewal_threshold{%s})' % A, 'B', legend='> {{threshold}}/year at {{max_validity_days}} days'),
          ],
          w=24,
          h=8,
        ),
      ],
      p.variables(),
      c.dashboardTimeFrom,
    ),
  },
}
