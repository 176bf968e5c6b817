// "CertCentral validations": the domain (DCV) and organization (OV/EV)
// validations that end next, the orders whose renewal they block, and the
// names that no active validation covers.
local cc = import '../lib/certcentral.libsonnet';
local p = import '../lib/panels.libsonnet';

{
  grafanaDashboards+:: {
    local c = $._config,
    local A = cc.accountFilter,
    local t = p.target,
    local th = p.thresholds,
    local days(metric) = '(%s{%s} - time()) / 86400' % [metric, A],
    local validationDays = th(['dark-red', 0, 'red', c.validationExpiringCriticalDays, 'orange', c.validationExpiringDays, 'green']),

    'certcentral-validations.json': p.dashboard(
      c,
      'certcentral-validations',
      'CertCentral validations',
      'Domain (DCV) and organization (OV/EV) validations of CertCentral accounts: which end next, which orders they block from renewing, and which names nothing covers.',
      [
        p.row('Validations ending'),
        p.stat(
          'Domains ending within 30 days',
          'Domain records whose first OV or EV validation ends within 30 days (certcentral_validations_expiring{scope="domain",within="30d"}).',
          [t('sum(certcentral_validations_expiring{%s, scope="domain", within="30d"}) or vector(0)' % A, instant=true)],
          w=6,
          th=th(['green', 1, 'orange']),
        ),
        p.stat(
          'Organizations ending within 30 days',
          'Organizations whose first OV or EV validation ends within 30 days.',
          [t('sum(certcentral_validations_expiring{%s, scope="organization", within="30d"}) or vector(0)' % A, instant=true)],
          w=6,
          th=th(['green', 1, 'orange']),
        ),
        p.stat(
          'Renewals blocked',
          'Orders breaking validation_expires_before_renewal: auto-renew or auto-reissue is on, but a validation the renewal needs ends first. These raise CertCentralRenewalValidationExpiring.',
          [t('sum(certcentral_compliance_violations{%s, rule="validation_expires_before_renewal"}) or vector(0)' % A, instant=true)],
          w=6,
          th=th(['green', 1, 'red']),
        ),
        p.stat(
          'Names uncovered',
          'Distinct names on certificates in use that no active validation of their organization covers (certcentral_uncovered_names).',
          [t('sum(certcentral_uncovered_names{%s}) or vector(0)' % A, instant=true)],
          w=6,
          th=th(['green', 1, 'blue']),
        ),
        p.table(
          'Domain validations ending next',
          'Each domain record and validation type, with days until its reuse ends (certcentral_domain_validation_expiry_timestamp_seconds); negative once ended.',
          [t('sort(%s)' % days('certcentral_domain_validation_expiry_timestamp_seconds'), 'A', instant=true, table=true)],
          [
            ['domain', 'Domain'],
            ['type', 'Type'],
            ['Value', 'Days left'],
            ['domain_id', 'Domain id'],
            ['organization_id', 'Organization id'],
            ['subaccount_id', 'Subaccount'],
            ['account', 'Account'],
          ],
          ['Days left', false],
          w=12,
          h=12,
          overrides=[p.byName('Days left', [['custom.cellOptions', { type: 'color-background', mode: 'basic' }], ['thresholds', validationDays], ['color', { mode: 'thresholds' }], ['decimals', 1]])],
        ),
        p.table(
          'Organization validations ending next',
          'Each organization and validation type, with days until it ends (certcentral_organization_validation_expiry_timestamp_seconds).',
          [t('sort(%s)' % days('certcentral_organization_validation_expiry_timestamp_seconds'), 'A', instant=true, table=true)],
          [
            ['organization', 'Organization'],
            ['type', 'Type'],
            ['Value', 'Days left'],
            ['organization_id', 'Organization id'],
            ['account', 'Account'],
          ],
          ['Days left', false],
          w=12,
          h=12,
          overrides=[p.byName('Days left', [['custom.cellOptions', { type: 'color-background', mode: 'basic' }], ['thresholds', validationDays], ['color', { mode: 'thresholds' }], ['decimals', 1]])],
        ),

        p.row('Orders they block'),
        p.table(
          'Actionable orders and the validation their renewal needs first',
          'Orders flagged actionable, with the validation their renewal needs that ends first and days until it ends. Click the order number to open it in CertCentral.',
          [t('sort(%s unless on (job, instance, account, order_id) certcentral_order_actionable == 0)' % days('certcentral_order_validation_expiry_timestamp_seconds'), 'A', instant=true, table=true)],
          [
            ['order_id', 'Order'],
            ['validation', 'Validation'],
            ['scope', 'Scope'],
            ['type', 'Type'],
            ['Value', 'Days left'],
            ['validation_id', 'Id'],
            ['account', 'Account'],
          ],
          ['Days left', false],
          h=12,
          overrides=[p.byName('Order', [cc.orderLink]), p.byName('Days left', [['custom.cellOptions', { type: 'color-background', mode: 'basic' }], ['thresholds', validationDays], ['color', { mode: 'thresholds' }], ['decimals', 1]])],
        ),

        p.row('Coverage'),
        p.table(
          'Orders with uncovered names',
          'Orders with names that no active validation of their organization covers (certcentral_order_uncovered_names): their next renewal waits on a new DCV.',
          [t('sort_desc(certcentral_order_uncovered_names{%s})' % A, 'A', instant=true, table=true)],
          [
            ['order_id', 'Order'],
            ['Value', 'Names uncovered'],
            ['account', 'Account'],
          ],
          ['Names uncovered', true],
          w=12,
          h=10,
          overrides=[p.byName('Order', [cc.orderLink])],
        ),
        p.bargauge(
          'Revalidations under the coming reuse periods',
          'Domains with a validation (certcentral_validated_domains), and of those the ones needing revalidation more than `threshold` times a year (certcentral_domains_exceeding_revalidation_threshold), for each coming CA/Browser Forum domain validation reuse period.',
          [
            t('sum by (reuse_days) (certcentral_validated_domains{%s})' % A, 'A', legend='validated, reuse {{reuse_days}} days', instant=true),
            t('sum by (reuse_days, threshold) (certcentral_domains_exceeding_revalidation_threshold{%s})' % A, 'B', legend='> {{threshold}}/year at {{reuse_days}} days', instant=true),
          ],
          w=12,
          h=10,
          th=th(['blue']),
        ),
        p.timeseries(
          'Validations ending, over time',
          'certcentral_validations_expiring by scope and window over the selected time range.',
          [t('sum by (scope, within) (certcentral_validations_expiring{%s})' % A, legend='{{scope}} within {{within}}')],
          w=24,
          h=8,
        ),
      ],
      p.variables(),
      c.dashboardTimeFrom,
    ),
  },
}
