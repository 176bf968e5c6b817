// Dashboard parts about CertCentral itself, shared by the dashboards: the
// label filters of the dashboard variables and the order-table cells.
local panels = import 'panels.libsonnet';

{
  // Per-account series (aggregates without container or product).
  accountFilter:: 'account=~"$account"',
  // Per-order series and aggregates by container and product.
  orderFilter:: 'account=~"$account", container=~"$container", product=~"$product"',

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
