// One alerting rule with the labels and annotations every alert of this
// mixin carries, so that the alert files hold only what differs.
local text = import 'text.libsonnet';

{
  // name: alert name; config: the mixin's _config; expr: PromQL;
  // forDuration: the rule's `for`; severity: critical, warning or info; summary and description:
  // annotation templates; keepFiring: whether _config.keepFiringFor applies;
  // annotations: more annotations (the per-certificate alerts' days_left and
  // action, which the notification templates list, alerts/templates/).
  alert(config, name, expr, forDuration, severity, summary, description, keepFiring=false, annotations={}):: {
    alert: name,
    expr: expr,
    'for': forDuration,
    [if keepFiring && config.keepFiringFor != null then 'keep_firing_for']: config.keepFiringFor,
    labels: { severity: severity },
    annotations: {
      summary: summary,
      description: text.lines(description),
      runbook_url: '%s#%s' % [config.runbookBaseURL, std.asciiLower(name)],
    } + annotations,
  },

  // `expr`, per-order series keyed by account and order_id, joined with
  // each order's certcentral_order_info so that the alert's labels and
  // texts name the certificate. The join keeps the value.
  named(expr)::
    '(\n'
    + std.join('\n', ['  ' + line for line in std.split(std.rstripChars(expr, '\n'), '\n')])
    + '\n)\n* on(account, order_id) group_left(common_name, product, container, organization, subaccount_id)\ncertcentral_order_info\n',
}
