// The certcentral-exporter monitoring mixin: `_config` (config.libsonnet),
// `prometheusAlerts` (alerts/), `grafanaDashboards` (dashboards/) and what
// Alertmanager does with the alerts, `alertmanagerConfig` and the rest of
// alertmanager/.
// Import it into your own jsonnet and override `_config`, or render it as
// it is with mixin/generate.sh.
(import 'config.libsonnet')
+ (import 'alerts/alerts.libsonnet')
+ (import 'dashboards/dashboards.libsonnet')
+ (import 'alertmanager/alertmanager.libsonnet')
