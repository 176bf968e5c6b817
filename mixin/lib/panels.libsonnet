// Grafana panel builders shared by the dashboards: every panel queries the
// `datasource` variable, has a description, and is placed on the grid by
// `layout` (left to right, wrapping at 24 columns; a row starts a new line).
local ds = { type: 'prometheus', uid: '${datasource}' };

local reduceLast = { calcs: ['lastNotNull'], fields: '', values: false };

// Threshold steps from [base colour, value, colour, value, colour, ...].
local thresholds(steps) = {
  mode: 'absolute',
  steps: [{ color: steps[0], value: null }] + [
    { color: steps[i + 1], value: steps[i] }
    for i in std.range(1, std.length(steps) - 1)
    if i % 2 == 1
  ],
};

// A panel's common fields; `size` is hidden: layout turns it into gridPos.
local panel(type, title, description, targets, w, h) = {
  type: type,
  title: title,
  description: description,
  datasource: ds,
  targets: targets,
  size:: { w: w, h: h },
};

{
  thresholds:: thresholds,

  // One PromQL query of a panel.
  target(expr, ref='A', legend=null, instant=false, table=false)::
    {
      datasource: ds,
      editorMode: 'code',
      expr: expr,
      refId: ref,
      range: !instant,
      instant: instant,
    }
    + (if table then { format: 'table' } else {})
    + (if legend != null then { legendFormat: legend } else {}),

  row(title):: {
    type: 'row',
    title: title,
    collapsed: false,
    panels: [],
    size:: { w: 24, h: 1 },
  },

  stat(title, description, targets, w=4, h=4, unit='none', th=null, mappings=[], colorMode='background', graph='none', decimals=null)::
    panel('stat', title, description, targets, w, h) {
      fieldConfig: {
        defaults: {
          unit: unit,
          color: { mode: 'thresholds' },
          thresholds: if th == null then thresholds(['green']) else th,
          mappings: mappings,
          [if decimals != null then 'decimals']: decimals,
        },
        overrides: [],
      },
      options: {
        reduceOptions: reduceLast,
        colorMode: colorMode,
        graphMode: graph,
        justifyMode: 'auto',
        orientation: 'auto',
        textMode: 'auto',
        wideLayout: true,
        showPercentChange: false,
      },
    },

  bargauge(title, description, targets, w=12, h=8, unit='none', th=null, orientation='horizontal', min=0)::
    panel('bargauge', title, description, targets, w, h) {
      fieldConfig: {
        defaults: {
          unit: unit,
          min: min,
          color: { mode: 'thresholds' },
          thresholds: if th == null then thresholds(['blue']) else th,
          mappings: [],
        },
        overrides: [],
      },
      options: {
        reduceOptions: reduceLast,
        orientation: orientation,
        displayMode: 'basic',
        valueMode: 'color',
        showUnfilled: true,
        namePlacement: 'auto',
        sizing: 'auto',
        minVizHeight: 16,
        minVizWidth: 8,
        maxVizHeight: 300,
      },
    },

  timeseries(title, description, targets, w=12, h=8, unit='none', stack=false, draw='line', th=null)::
    panel('timeseries', title, description, targets, w, h) {
      fieldConfig: {
        defaults: {
          unit: unit,
          color: { mode: 'palette-classic' },
          custom: {
            drawStyle: draw,
            lineWidth: 1,
            fillOpacity: if draw == 'line' then 10 else 80,
            showPoints: 'never',
            spanNulls: false,
            stacking: { mode: if stack then 'normal' else 'none', group: 'A' },
            axisSoftMin: 0,
            lineInterpolation: if draw == 'line' then 'stepAfter' else 'linear',
            thresholdsStyle: { mode: 'off' },
          },
          thresholds: if th == null then thresholds(['green']) else th,
          mappings: [],
        },
        overrides: [],
      },
      options: {
        legend: { displayMode: 'table', placement: 'right', showLegend: true, calcs: ['lastNotNull'] },
        tooltip: { mode: 'multi', sort: 'desc' },
      },
    },

  piechart(title, description, targets, w=6, h=8, overrides=[])::
    panel('piechart', title, description, targets, w, h) {
      fieldConfig: {
        defaults: { unit: 'none', color: { mode: 'palette-classic' }, mappings: [] },
        overrides: overrides,
      },
      options: {
        reduceOptions: reduceLast,
        pieType: 'donut',
        displayLabels: ['value'],
        legend: { displayMode: 'table', placement: 'right', showLegend: true, values: ['value', 'percent'] },
        tooltip: { mode: 'single', sort: 'none' },
      },
    },

  // columns: [[field name in the merged frame, display name], ...] in
  // order; sortBy: [display name, descending]; hidden: more fields to drop;
  // shown: fields dropped by default (job, instance) to keep.
  table(title, description, targets, columns, sortBy, w=24, h=12, overrides=[], hidden=[], shown=[])::
    panel('table', title, description, targets, w, h) {
      transformations: [
        { id: 'merge', options: {} },
        {
          id: 'organize',
          options: {
            excludeByName: { [name]: true for name in std.setDiff(std.set(['Time', '__name__', 'job', 'instance']), std.set(shown)) + hidden },
            indexByName: { [columns[i][0]]: i for i in std.range(0, std.length(columns) - 1) },
            renameByName: { [c[0]]: c[1] for c in columns if c[0] != c[1] },
            includeByName: {},
          },
        },
      ],
      fieldConfig: {
        defaults: {
          custom: { align: 'auto', filterable: true, cellOptions: { type: 'auto' } },
          mappings: [],
          thresholds: thresholds(['green']),
          color: { mode: 'thresholds' },
        },
        overrides: overrides,
      },
      options: {
        showHeader: true,
        cellHeight: 'sm',
        sortBy: [{ displayName: sortBy[0], desc: sortBy[1] }],
        footer: { show: false, reducer: ['sum'], countRows: false, fields: '' },
      },
    },

  // A field override: byName(name, [[property id, value], ...]).
  byName(name, props):: {
    matcher: { id: 'byName', options: name },
    properties: [{ id: p[0], value: p[1] } for p in props],
  },

  // A value mapping of 1 and 0 to a text and colour each.
  oneZero(one, oneColor, zero, zeroColor):: [{
    type: 'value',
    options: {
      '1': { text: one, color: oneColor, index: 0 },
      '0': { text: zero, color: zeroColor, index: 1 },
    },
  }],

  // The panels with ids from 1 and their gridPos.
  layout(panels)::
    local step(state, p) =
      local wraps = p.type == 'row' || state.x + p.size.w > 24;
      local y = if wraps then state.y + state.rowH else state.y;
      local x = if wraps then 0 else state.x;
      local placed = p { id: state.id, gridPos: { x: x, y: y, w: p.size.w, h: p.size.h } };
      if p.type == 'row' then
        state { x: 0, y: y + 1, rowH: 0, id: state.id + 1, out: state.out + [placed] }
      else
        state { x: x + p.size.w, y: y, rowH: std.max(if wraps then 0 else state.rowH, p.size.h), id: state.id + 1, out: state.out + [placed] };
    std.foldl(step, panels, { x: 0, y: 0, rowH: 0, id: 1, out: [] }).out,

  // A multi-select query variable (default All) of `query`, a
  // label_values(...) on the datasource variable.
  queryVariable(name, label, query):: {
    name: name,
    label: label,
    type: 'query',
    datasource: ds,
    definition: query,
    query: { qryType: 1, query: query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    refresh: 2,
    regex: '',
    sort: 1,
    multi: true,
    includeAll: true,
    allValue: '.*',
    current: { selected: true, text: ['All'], value: ['$__all'] },
    options: [],
    hide: 0,
    skipUrlSync: false,
  },

  // The templating variables: datasource, then (with job) the scrape job
  // (job true: the exporter's; a variable: that one), account, container
  // and product, then `extra`.
  variables(extra=[], job=false)::
    local queryVar = self.queryVariable;
    [{
      name: 'datasource',
      label: 'Data source',
      type: 'datasource',
      query: 'prometheus',
      regex: '',
      current: {},
      options: [],
      refresh: 1,
      hide: 0,
      includeAll: false,
      multi: false,
      skipUrlSync: false,
    }]
    + (if std.isObject(job) then [job] else if job then [queryVar('job', 'Scrape job', 'label_values(certcentral_up, job)')] else [])
    + [
      queryVar('account', 'Account', 'label_values(certcentral_up, account)'),
      queryVar('container', 'Container', 'label_values(certcentral_order_info{account=~"$account"}, container)'),
      queryVar('product', 'Product', 'label_values(certcentral_order_info{account=~"$account", container=~"$container"}, product)'),
    ]
    + extra,

  // A whole dashboard: the panels laid out, the panel types it requires,
  // and a link to the other CertCentral dashboards.
  dashboard(config, uid, title, description, panels, templating, timeFrom)::
    local placed = self.layout(panels);
    local names = { stat: 'Stat', table: 'Table', bargauge: 'Bar gauge', timeseries: 'Time series', piechart: 'Pie chart' };
    local types = std.set([p.type for p in placed if p.type != 'row']);
    {
      __requires: [
        { type: 'grafana', id: 'grafana', name: 'Grafana', version: '10.4.0' },
        { type: 'datasource', id: 'prometheus', name: 'Prometheus', version: '1.0.0' },
      ] + [{ type: 'panel', id: t, name: names[t], version: '' } for t in types],
      annotations: { list: [{
        builtIn: 1,
        datasource: { type: 'grafana', uid: '-- Grafana --' },
        enable: true,
        hide: true,
        iconColor: 'rgba(0, 211, 255, 1)',
        name: 'Annotations & Alerts',
        type: 'dashboard',
      }] },
      description: description,
      editable: true,
      fiscalYearStartMonth: 0,
      graphTooltip: 1,
      id: null,
      links: [{
        type: 'dashboards',
        title: 'CertCentral dashboards',
        tags: ['certcentral'],
        asDropdown: false,
        includeVars: true,
        keepTime: true,
        targetBlank: false,
        icon: 'external link',
        tooltip: '',
        url: '',
      }],
      panels: placed,
      refresh: config.dashboardRefresh,
      schemaVersion: 39,
      tags: config.dashboardTags,
      templating: { list: templating },
      time: { from: timeFrom, to: 'now' },
      timepicker: {},
      timezone: config.dashboardTimezone,
      title: title,
      uid: uid,
      version: 1,
      weekStart: '',
    },
}
