// The certcentral-exporter monitoring mixin: `_config` (config.libsonnet),
// `prometheusAlerts` (alerts/) and `grafanaDashboards` (dashboards/).
// Import it into your own jsonnet and override `_config`, or render it as
// it is with mixin/generate.sh.
(import 'config.libsonnet')
+ (import 'alerts/alerts.libsonnet')
+ (import 'dashboards/dashboards.libsonnet')
