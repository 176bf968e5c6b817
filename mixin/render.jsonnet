// Renders a mixin into the files committed in this repository, as an object
// from path (relative to the output directory) to file text, for
// `jsonnet -S -m OUT`: alerts/, dashboards/ and their copies in the
// kustomize base, deploy/kubernetes/base/. mixin/generate.sh runs it; `mixin`
// defaults to this directory's mixin.libsonnet.
local manifest = import 'lib/manifest.libsonnet';

function(mixin=import 'mixin.libsonnet')
  local c = mixin._config;
  local rules = manifest.yaml(mixin.prometheusAlerts);
  local generated = |||
    Generated from the monitoring mixin in mixin/ by mixin/generate.sh: do not
    edit. Change thresholds, `for` durations, the scrape job and the runbook
    links in the mixin's _config (docs/alerts.md: "Changing thresholds, the job
    name and the runbook links") and regenerate; a test fails while this file and
    the mixin differ.
  |||;
  {
    'alerts/certcentral.rules.yml':
      manifest.comment(|||
        Prometheus alerting rules for certcentral-exporter.

        Load with `rule_files: [/path/to/certcentral.rules.yml]` in prometheus.yml.
        The same rules, as a Kubernetes PrometheusRule, are in prometheusrule.yaml.

      ||| + generated)
      + '\n'
      + rules,

    // The kustomize base (deploy/kubernetes/base/) may only read files below it.
    'deploy/kubernetes/base/prometheusrule.yaml': self['alerts/prometheusrule.yaml'],

    'alerts/prometheusrule.yaml':
      manifest.comment(|||
        The rules of certcentral.rules.yml as a Kubernetes PrometheusRule, for the
        Prometheus Operator (kube-prometheus-stack). Its labels must match the
        Prometheus resource's ruleSelector (_config.prometheusRuleLabels).

      ||| + generated)
      + manifest.yaml({
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'PrometheusRule',
        metadata: { name: c.prometheusRuleName, labels: c.prometheusRuleLabels },
      })
      + 'spec:\n'
      + manifest.indent(rules, '  '),
  }
  + {
    [dir + name]: manifest.json(mixin.grafanaDashboards[name])
    for dir in ['dashboards/', 'deploy/kubernetes/base/dashboards/']
    for name in std.objectFields(mixin.grafanaDashboards)
  }
