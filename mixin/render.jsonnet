// Renders a mixin into the files committed in this repository, as an object
// from path (relative to the output directory) to file text, for
// `jsonnet -S -m OUT`: alerts/ (rules, the Alertmanager configuration and
// its templates), dashboards/ and their copies in the kustomize base,
// deploy/kubernetes/base/ (there the Alertmanager part as an AlertmanagerConfig). mixin/generate.sh runs it; `mixin`
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
    'alerts/alertmanager.yml':
      manifest.comment(|||
        Alertmanager configuration for certcentral-exporter's alerts: a complete,
        valid configuration (amtool check-config alerts/alertmanager.yml) whose
        CertCentral part is one route subtree, matching alertname=~"CertCentral.*",
        with its receivers, inhibit rules and notification templates. To add it to
        your own alertmanager.yml (docs/alerts.md, "Alertmanager"):

        1. Paste route.routes[0] (the subtree) under your root route's `routes:`,
           above any route that would catch CertCentral alerts first.
        2. Append the certcentral-* receivers (and the team ones) to `receivers:`,
           with your own integrations in place of the example.com placeholders, and
           the rules of `inhibit_rules:` to yours.
        3. Copy templates/certcentral.tmpl beside your alertmanager.yml and add
           its path to `templates:` (relative paths are the configuration file's
           directory's).
        4. amtool check-config alertmanager.yml, and reload Alertmanager.

        Needs Alertmanager 0.22 or later (`matchers`, `source_matchers`).

      ||| + generated)
      + '\n'
      + manifest.yaml(mixin.alertmanagerConfig),

    // The Prometheus Operator's form; the kustomize base applies it.
    'deploy/kubernetes/base/alertmanagerconfig.yaml':
      manifest.comment(|||
        The route subtree, receivers and inhibit rules of alerts/alertmanager.yml as
        a Prometheus Operator AlertmanagerConfig. The Operator adds it under the
        Alertmanager's root route with a matcher on the `namespace` label (the
        namespace of this object), unless the Alertmanager resource says
        alertmanagerConfigMatcherStrategy: {type: None}; its labels must match the
        Alertmanager's alertmanagerConfigSelector (_config.alertmanagerConfigLabels).
        Receiver URLs come from the Secret certcentral-alertmanager
        (_config.alertmanagerSecretName). The notification templates it names are
        no part of it: load certcentral.tmpl into the Alertmanager (the ConfigMap
        certcentral-alertmanager-templates of this base; docs/alerts.md, "Kubernetes").

      ||| + generated)
      + manifest.yaml({
        apiVersion: 'monitoring.coreos.com/v1alpha1',
        kind: 'AlertmanagerConfig',
        metadata: { name: c.alertmanagerConfigName, labels: c.alertmanagerConfigLabels },
        spec: mixin.alertmanagerOperatorConfig,
      }),
  }
  + {
    [dir + name]: |||
      {{/*
      Generated from the monitoring mixin (mixin/alertmanager/%s) by
      mixin/generate.sh: do not edit; a test fails while this file and the mixin
      differ.
      */}}
    ||| % name + mixin.alertmanagerTemplates[name]
    for dir in ['alerts/templates/', 'deploy/kubernetes/base/alertmanager/']
    for name in std.objectFields(mixin.alertmanagerTemplates)
  }
  + {
    [dir + name]: manifest.json(mixin.grafanaDashboards[name])
    for dir in ['dashboards/', 'deploy/kubernetes/base/dashboards/']
    for name in std.objectFields(mixin.grafanaDashboards)
  }
