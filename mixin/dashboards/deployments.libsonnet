// "CertCentral deployments": what the endpoints serve, as the probe job
// (_config.probeJob) reads it through the exporter's /probe: which serve a
// certificate CertCentral has replaced (and what to install), which serve
// one no polled account knows, which probes fail, and how long probes take.
//
// Every series of a probe carries its target's labels (instance, and from
// /probe/targets account and container; server_name where the job sets
// it); certcentral_probe_certificate_status adds the account and order of
// the served certificate. The endpoint table keys its queries on (job,
// instance) and takes every other label from the status series, so that the
// merge meets one row per endpoint.
local cc = import '../lib/certcentral.libsonnet';
local p = import '../lib/panels.libsonnet';

{
  grafanaDashboards+:: {
    local c = $._config,
    local t = p.target,
    local th = p.thresholds,
    // The endpoints of the selected probe jobs, accounts and containers.
    local E = 'job=~"$job", account=~"$account", container=~"$container"',
    local status = 'certcentral_probe_certificate_status{%s}' % E,
    // Per endpoint, limited to the endpoints the status series select.
    local perEndpoint(expr, by=[]) =
      'max by (%s) (%s) and on (job, instance) %s' % [std.join(', ', ['job', 'instance'] + by), expr, status],
    // The served certificate's order named from certcentral_order_info
    // (common name, container); endpoints serving an unknown certificate
    // keep their own labels.
    local named(expr) =
      '(%(e)s) * on (account, order_id) group_left (common_name, container) certcentral_order_info{account=~"$account"} or on (job, instance) (%(e)s)' % { e: expr },
    // 3 superseded, 2 unknown, 1 active: sorting on it puts the endpoints
    // to fix first.
    local rank = |||
      certcentral_probe_certificate_status{%(E)s, status="superseded"} * 3
      or certcentral_probe_certificate_status{%(E)s, status="unknown"} * 2
      or certcentral_probe_certificate_status{%(E)s, status="active"} * 1
    ||| % { E: E },
    local failing = '(certcentral_probe_success{%(E)s} == 0) * 0 + 1 or (up{%(E)s} == 0) * 0 + 2' % { E: E },
    local served = th(['dark-red', 0, 'red', c.deploymentExpiringCriticalDays, 'orange', c.deploymentExpiringDays, 'green']),
    local standing = [{
      type: 'value',
      options: {
        '3': { text: 'superseded', color: 'orange', index: 0 },
        '2': { text: 'unknown', color: 'blue', index: 1 },
        '1': { text: 'active', color: 'green', index: 2 },
      },
    }],
    local failure = [{
      type: 'value',
      options: {
        '1': { text: 'no TLS handshake', color: 'red', index: 0 },
        '2': { text: 'scrape failed', color: 'dark-red', index: 1 },
      },
    }],
    local colorText = ['custom.cellOptions', { type: 'color-text' }],
    local jobVariable = p.queryVariable('job', 'Probe job', 'label_values(certcentral_probe_success, job)') {
      includeAll: false,
      allValue:: null,
      current: { selected: true, text: [c.probeJob], value: [c.probeJob] },
      description: 'The scrape job(s) that probe endpoints through /probe (the deployment alerts select %s).' % c.probeJob,
    },

    'certcentral-deployments.json': p.dashboard(
      c,
      'certcentral-deployments',
      'CertCentral deployments',
      "What endpoints serve, as the exporter's /probe reads it: the certificates CertCentral has replaced that are still deployed (and what to install instead), certificates no polled account knows, failing probes.",
      [
        p.row('Endpoints by served certificate'),
        p.stat(
          'Serving a superseded certificate',
          'Endpoints serving a certificate that a reissue of its order, or the order that renewed it, has replaced (certcentral_probe_certificate_status{status="superseded"}): the replacement is not deployed there. CertCentralSupersededCertificateServed fires within %d days of its expiry.' % c.deploymentExpiringDays,
          [t('count(certcentral_probe_certificate_status{%s, status="superseded"}) or vector(0)' % E, instant=true)],
          th=th(['green', 1, 'orange']),
        ),
        p.stat(
          'Serving an unknown certificate',
          'Endpoints serving a certificate of no polled account (status="unknown"): another CA, another account, or made by hand; nothing in CertCentral renews it.',
          [t('count(certcentral_probe_certificate_status{%s, status="unknown"}) or vector(0)' % E, instant=true)],
          th=th(['green', 1, 'blue']),
        ),
        p.stat(
          'Serving the active certificate',
          "Endpoints serving their order's active certificate (status=\"active\").",
          [t('count(certcentral_probe_certificate_status{%s, status="active"}) or vector(0)' % E, instant=true)],
          th=th(['green']),
        ),
        p.stat(
          'Failing probes',
          'Endpoints whose latest probe completed no TLS handshake (certcentral_probe_success 0), or whose scrape failed (up 0: /probe refused the target with a 403, or the exporter did not answer). The table below lists them.',
          [t('count(%s) or vector(0)' % failing, instant=true)],
          th=th(['green', 1, 'red']),
        ),
        p.stat(
          'Not verifying',
          "Endpoints whose certificate chain does not verify for the server name against the exporter's trusted roots (certcentral_probe_certificate_verified 0: expired, unknown issuer, wrong name).",
          [t('count(certcentral_probe_certificate_verified{%s} == 0) or vector(0)' % E, instant=true)],
          th=th(['green', 1, 'orange']),
        ),
        p.stat(
          'Served certificates expiring within %d days' % c.deploymentExpiringDays,
          'Endpoints whose served certificate expires within %d days, whatever its status (certcentral_probe_certificate_expiry_timestamp_seconds).' % c.deploymentExpiringDays,
          [t('count((certcentral_probe_certificate_expiry_timestamp_seconds{%s} - time()) / 86400 < %d) or vector(0)' % [E, c.deploymentExpiringDays], instant=true)],
          th=th(['green', 1, 'orange']),
        ),
        p.table(
          'Endpoints, superseded certificates first',
          "One row per probed endpoint: the served certificate's standing (superseded: CertCentral holds a newer one, named under Replacement; unknown: no polled account's; active), its order (a link to CertCentral) with the order's common name and container from certcentral_order_info, days until the served certificate expires, the replacement's order and expiry, and whether the chain verifies and why not. Server name shows where the probe job sets a server_name label.",
          [
            t(named(std.rstripChars(rank, '\n')), 'A', instant=true, table=true),
            t(perEndpoint('(certcentral_probe_certificate_expiry_timestamp_seconds{%s} - time()) / 86400' % E), 'B', instant=true, table=true),
            t(perEndpoint('certcentral_probe_replacement_expiry_timestamp_seconds{%s} * 1000' % E, ['replacement_order_id', 'by']), 'C', instant=true, table=true),
            t(perEndpoint('certcentral_probe_certificate_verified{%s}' % E, ['reason']), 'D', instant=true, table=true),
          ],
          [
            ['instance', 'Endpoint'],
            ['server_name', 'Server name'],
            ['Value #A', 'Served certificate'],
            ['Value #B', 'Days left'],
            ['order_id', 'Order'],
            ['common_name', 'Common name'],
            ['container', 'Container'],
            ['account', 'Account'],
            ['replacement_order_id', 'Replacement order'],
            ['by', 'Replaced by'],
            ['Value #C', 'Replacement expires (UTC)'],
            ['Value #D', 'Verifies'],
            ['reason', 'Why not'],
          ],
          ['Served certificate', true],
          h=14,
          hidden=['status'],
          shown=['instance'],
          overrides=[
            p.byName('Served certificate', [['mappings', standing], colorText, ['custom.width', 150]]),
            p.byName('Days left', [['custom.cellOptions', { type: 'color-background', mode: 'basic' }], ['thresholds', served], ['color', { mode: 'thresholds' }], ['decimals', 1], ['custom.width', 100]]),
            p.byName('Order', [cc.orderLink, ['custom.width', 110]]),
            p.byName('Replacement order', [cc.orderLink, ['custom.width', 150]]),
            p.byName('Replacement expires (UTC)', [['unit', 'dateTimeAsIso'], ['custom.width', 190]]),
            p.byName('Verifies', [['mappings', p.oneZero('yes', 'green', 'no', 'orange')], colorText, ['custom.width', 80]]),
          ],
        ),

        p.row('Failing probes'),
        p.table(
          'Endpoints whose probe fails',
          "Endpoints whose latest probe failed: no TLS handshake (certcentral_probe_success 0: the endpoint is down, unreachable from the exporter, or does not speak TLS on that port; CertCentralProbeFailing fires after %s), or the scrape failed (up 0: /probe answered 403 for a target that is neither a name on an in-use order nor in --probe.allowed-targets, or the exporter did not answer). With the probe's duration and the share of successful probes over the dashboard's time range." % c.probeFailingFor,
          [
            t(failing, 'A', instant=true, table=true),
            t('max by (job, instance) (certcentral_probe_duration_seconds{%s}) and on (job, instance) (%s)' % [E, failing], 'B', instant=true, table=true),
            t('max by (job, instance) (avg_over_time(certcentral_probe_success{%s}[$__range])) and on (job, instance) (%s)' % [E, failing], 'C', instant=true, table=true),
          ],
          [
            ['instance', 'Endpoint'],
            ['server_name', 'Server name'],
            ['Value #A', 'Failure'],
            ['Value #B', 'Probe took'],
            ['Value #C', 'Successful probes in the range'],
            ['container', 'Container'],
            ['account', 'Account'],
          ],
          ['Endpoint', false],
          h=8,
          shown=['instance'],
          overrides=[
            p.byName('Failure', [['mappings', failure], colorText, ['custom.width', 150]]),
            p.byName('Probe took', [['unit', 's'], ['decimals', 2], ['custom.width', 110]]),
            p.byName('Successful probes in the range', [['unit', 'percentunit'], ['decimals', 0], ['custom.width', 220]]),
          ],
        ),

        p.row('Probes over time'),
        p.timeseries(
          'Endpoints by served certificate, and failing probes',
          'Endpoints per standing of the certificate they serve (certcentral_probe_certificate_status by status) and failing probes over the time range: a superseded line that falls to zero is a replacement rolled out.',
          [
            t('count by (status) (certcentral_probe_certificate_status{%s})' % E, 'A', legend='{{status}}'),
            t('count(certcentral_probe_success{%s} == 0) or vector(0)' % E, 'B', legend='failing'),
          ],
          stack=true,
        ),
        p.timeseries(
          'Probe duration',
          'How long probes take (certcentral_probe_duration_seconds), the slowest and the average per probe job: one TLS handshake each, bounded by the scrape timeout less half a second; a slowest line at that bound is a probe timing out.',
          [
            t('max by (job) (certcentral_probe_duration_seconds{%s})' % E, 'A', legend='slowest ({{job}})'),
            t('avg by (job) (certcentral_probe_duration_seconds{%s})' % E, 'B', legend='average ({{job}})'),
          ],
          unit='s',
        ),
      ],
      // The probe series have no product: the variable stays (hidden) for
      // the links between the dashboards.
      [
        if v.name == 'product' then v { hide: 2 } else v
        for v in p.variables(extra=[cc.uiVariable(c)], job=jobVariable)
      ],
      c.dashboardTimeFrom,
    ),
  },
}
