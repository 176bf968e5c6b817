// Every dashboard of the mixin, one file per dashboard, each adding
// `<file name>.json` to grafanaDashboards. A new dashboard is a new file
// here and one line below.
(import 'overview.libsonnet')
+ (import 'compliance.libsonnet')
+ (import 'health.libsonnet')
+ (import 'validations.libsonnet')
+ (import 'deployments.libsonnet')
