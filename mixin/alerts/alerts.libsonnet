// Every alert group of the mixin, one file per group. A new group is a new
// file here and one line below.
(import 'certificates.libsonnet')
+ (import 'compliance.libsonnet')
+ (import 'exporter.libsonnet')
+ (import 'validations.libsonnet')
+ (import 'deployments.libsonnet')
