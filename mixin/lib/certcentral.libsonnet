// Dashboard parts about CertCentral itself, shared by the dashboards: the
// label filters of the dashboard variables and the order-table cells.
local panels = import 'panels.libsonnet';

{
  // Per-account series (aggregates without container or product).
  accountFilter:: 'account=~"$account"',
  // The aggregates by container and product, and certcentral_order_info.
  orderFilter:: 'account=~"$account", container=~"$container", product=~"$product"',

  // Per-order series carry only account and order_id (plus their own
  // label): what describes an order is on its certcentral_order_info.
  // `expr` (per-order series) with the names of their orders joined in,
  // limited to the selected containers and products; the join drops the
  // metric name, so that a table's queries merge on their labels.
  described(expr):: '(%s) * on (account, order_id) group_left (common_name, product, container, organization, subaccount_id) certcentral_order_info{%s}' % [expr, self.orderFilter],
  // `expr` (per-order series) limited to the selected containers and
  // products.
  selected(expr):: '((%s) and on (account, order_id) certcentral_order_info{%s})' % [expr, self.orderFilter],

  // A table cell linking the order id to the order in the CertCentral UI
  // (the certcentral_ui variable).
  orderLink:: ['links', [{
    title: 'Open order ${__value.raw} in CertCentral',
    url: '${certcentral_ui}/orders/#/orders/edit/${__value.raw}',
    targetBlank: true,
  }]],

  // A "days left" cell coloured like the expiry alerts.
  daysCell(config):: [
    ['custom.cellOptions', { type: 'color-background', mode: 'basic' }],
    ['thresholds', panels.thresholds(['dark-red', 0, 'red', config.certificateExpiringCriticalDays, 'orange', config.certificateExpiringSoonDays, 'green'])],
    ['color', { mode: 'thresholds' }],
    ['custom.width', 100],
  ],

  // The textbox variable with the CertCentral UI's base URL.
  uiVariable(config):: {
    name: 'certcentral_ui',
    label: 'CertCentral UI',
    type: 'textbox',
    query: config.certcentralUI,
    current: { selected: false, text: config.certcentralUI, value: config.certcentralUI },
    options: [{ selected: true, text: config.certcentralUI, value: config.certcentralUI }],
    hide: 0,
    skipUrlSync: false,
    description: 'Base URL of the CertCentral web UI, for the order links (EU accounts: https://certcentral.digicert.eu/secure).',
  },
}
