// The exporter itself: scraped, polling, fresh, and not throttled or failed
// by CertCentral. While these fire, certificate alerts may not.
local rule = import '../lib/rule.libsonnet';
local text = import '../lib/text.libsonnet';

{
  prometheusAlerts+:: {
    local c = $._config,

    groups+: [{
      name: 'certcentral-exporter',
      rules: [
        rule.alert(
          c,
          'CertCentralExporterDown',
          |||
            up{%s} == 0
          ||| % [c.jobSelector],
          c.exporterDownFor,
          'warning',
          'Prometheus cannot scrape certcentral-exporter at {{ $labels.instance }}',
          'The scrape of {{ $labels.instance }} (job {{ $labels.job }}) has failed for %s. While it fails, NO certificate expiry alert can fire.\n'
          % [text.duration(c.exporterDownFor)] + |||
            Check that the exporter process or pod is running and that Prometheus can reach its /metrics endpoint.
          |||,
        ),

        rule.alert(
          c,
          'CertCentralExporterAbsent',
          |||
            absent(up{%s})
          ||| % [c.jobSelector],
          c.exporterAbsentFor,
          'warning',
          'Prometheus has no certcentral-exporter target at all',
          'For %s Prometheus has had no scrape target with %s: the exporter is not deployed, service discovery lost it, or the job was renamed. While this lasts, NO certificate expiry alert can fire.\n'
          % [text.duration(c.exporterAbsentFor), c.jobSelector] + |||
            If the job has another name on purpose, change the job selector in the alert rules (see the runbook).
          |||,
        ),

        rule.alert(
          c,
          'CertCentralPollFailing',
          |||
            certcentral_up == 0
          |||,
          c.pollFailingFor,
          'warning',
          'certcentral-exporter cannot read CertCentral account {{ $labels.account }}',
          'The latest polls of CertCentral account {{ $labels.account }} by {{ $labels.instance }} have failed for %s. The exporter keeps serving the last good data, which gets older with every failed poll.\n'
          % [text.duration(c.pollFailingFor)] + |||
            The exporter's log says why (key rejected, rate limited, network, timeout); certcentral_poll_errors_total{account="{{ $labels.account }}"} counts failures by kind.
          |||,
        ),

        // The last successful poll is older than a few poll intervals.
        rule.alert(
          c,
          'CertCentralDataStale',
          |||
            time() - certcentral_last_successful_poll_timestamp_seconds
              > %d * certcentral_poll_interval_seconds
          ||| % [c.dataStalePollIntervals],
          c.dataStaleFor,
          'warning',
          'CertCentral data for account {{ $labels.account }} is {{ $value | humanizeDuration }} old',
          'The last successful poll of CertCentral account {{ $labels.account }} by {{ $labels.instance }} was {{ $value | humanizeDuration }} ago, more than %s poll intervals. Expiry, renewal and compliance metrics (and the alerts built on them) describe the account as it was then.\n'
          % [text.words(c.dataStalePollIntervals)] + |||
            See why polls fail or do not finish in the exporter's log and in certcentral_poll_errors_total.
          |||,
        ),

        // CertCentral answered HTTP 429 within the window. The client
        // limiter should make that impossible, so any 429 is worth a look;
        // the window makes one burst one alert (it resolves a window after
        // the last 429), `for` keeps a single evaluation blip out.
        rule.alert(
          c,
          'CertCentralApiRateLimited',
          |||
            sum by (job, instance, account, endpoint) (
              increase(certcentral_api_requests_total{code="429"}[%s])
            ) > 0
          ||| % [c.apiRateLimitedWindow],
          c.apiRateLimitedFor,
          'warning',
          'CertCentral rate-limits certcentral-exporter (account {{ $labels.account }}, endpoint {{ $labels.endpoint }})',
          "CertCentral answered HTTP 429 (request_limit_exceeded) to about {{ $value | humanize }} {{ $labels.endpoint }} requests of account {{ $labels.account }} in the last %s. The exporter's own limiter should keep it under the limit, so something else is using the same API key, or the account's limit is lower than configured.\n"
          % [text.duration(c.apiRateLimitedWindow)] + |||
            The exporter backs off and keeps going, but polls get slower and data older. Other tools using the key are throttled too.
          |||,
        ),

        // More than apiErrorsRatio of the requests to one endpoint failed
        // with a 5xx status or a transport error over the window.
        rule.alert(
          c,
          'CertCentralApiErrors',
          |||
            (
              sum by (job, instance, account, endpoint) (rate(certcentral_api_requests_total{code=~"5..|error"}[%(window)s]))
            /
              sum by (job, instance, account, endpoint) (rate(certcentral_api_requests_total[%(window)s]))
            ) > %(ratio).15g
          ||| % { window: c.apiErrorsWindow, ratio: c.apiErrorsRatio },
          c.apiErrorsFor,
          'warning',
          '{{ $value | humanizePercentage }} of CertCentral {{ $labels.endpoint }} requests fail (account {{ $labels.account }})',
          "Over the last %s {{ $value | humanizePercentage }} of the exporter's requests to the CertCentral {{ $labels.endpoint }} endpoint for account {{ $labels.account }} failed with a server error (5xx) or a transport error (timeout, connection, TLS).\n"
          % [text.duration(c.apiErrorsWindow)] + |||
            The exporter retries with backoff; if this goes on, polls fail and data goes stale. Check DigiCert's status page and the exporter's network path to CertCentral.
          |||,
        ),

        rule.alert(
          c,
          'CertCentralReportRowsSkipped',
          |||
            certcentral_report_rows_skipped > 0
          |||,
          c.reportRowsSkippedFor,
          'warning',
          '{{ $value }} CertCentral order report rows are not monitored (account {{ $labels.account }})',
          |||
            The latest successful poll of account {{ $labels.account }} could not understand {{ $value }} row(s) of the CertCentral order report and left them out: those orders have no expiry metrics and cannot alert.
            The exporter logs each bad row once (order id and reason) at warn level.
          |||,
          keepFiring=true,
        ),

        // Order details or reissue lists have been due for hours and the
        // backlog is no smaller than that long ago. A warning, never a
        // page: the report's expiry data is still read and served.
        rule.alert(
          c,
          'CertCentralDetailsBacklogStuck',
          |||
            certcentral_details_backlog > 0
            and
            min_over_time(certcentral_details_backlog[%(h)dh]) > 0
            and
            certcentral_details_backlog >= certcentral_details_backlog offset %(h)dh
          ||| % { h: c.detailsBacklogStuckHours },
          c.detailsBacklogStuckFor,
          'warning',
          '{{ $value }} CertCentral order details have been due for hours (account {{ $labels.account }})',
          "For more than %s hours, {{ $value }} order details or reissue lists of CertCentral account {{ $labels.account }} have been due and the backlog has not shrunk. Until they are read, a reissued or renewed order may still show its old certificate's expiry (and could page falsely), and pending requests are not followed.\n"
          % [text.words(c.detailsBacklogStuckHours)] + |||
            The report, and so every expiry, is still read (certcentral_up). See certcentral_details_due by reason, certcentral_poll_incomplete_total and the exporter's log: the detail budget may be too small for the account, the rate limit shared with another tool, or CertCentral failing detail requests.
          |||,
        ),
      ],
    }],
  },
}
