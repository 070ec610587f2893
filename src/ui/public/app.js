// Portcullis console: small progressive enhancements. Every page works without this file.
(function () {
  'use strict';
  // Waiver expiry: end of the chosen day in the browser's time zone (the server computes the instant).
  function timeZones() {
    var tz = 'UTC';
    try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'; } catch (e) { /* keep UTC */ }
    document.querySelectorAll('input[data-timezone]').forEach(function (el) { el.value = tz; });
    document.querySelectorAll('[data-timezone-label]').forEach(function (el) {
      el.textContent = 'The waiver ends at 23:59:59 of that day, ' + tz + ' time.';
    });
  }
  // Trends: uPlot draws what /ui/overview/trends.json returns; the table below the chart stays for reading without it.
  function charts() {
    if (typeof uPlot === 'undefined') return;
    document.querySelectorAll('[data-trend-src]').forEach(function (el) {
      fetch(el.getAttribute('data-trend-src'), { credentials: 'same-origin', headers: { accept: 'application/json' } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data || !data.days || !data.from || !data.to) return;
          var sec = function (d) { return Date.parse(d + 'T00:00:00Z') / 1000; };
          var xs = data.days.map(sec);
          // The x axis is always the window asked for (e.g. the 30 days ending today): left to
          // itself uPlot spans one point over ~1000 days (2026 → 2029) and has no range for none.
          var span = [sec(data.from), sec(data.to)];
          var colors = ['#8c0f0f', '#b35000', '#7a5c00', '#2f5f8a'];
          var series = [{}].concat(data.series.map(function (s, i) { return { label: s.label, stroke: colors[i % colors.length], width: 2 }; }));
          el.textContent = '';
          new uPlot({
            width: Math.max(280, el.clientWidth), height: 240, series: series,
            // Whole counts: no 0.2-CVE ticks on a near-empty chart.
            axes: [{}, { label: data.unit, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000] }],
            scales: {
              x: { time: true, min: span[0], max: span[1], range: span },
              // Counts: from 0, and a range even when every value is 0 or there is none.
              y: { range: function (u, lo, hi) { return uPlot.rangeNum(0, Math.max(1, hi || 0), 0.1, true); } },
            },
          }, [xs].concat(data.series.map(function (s) { return s.values; })), el);
        })
        .catch(function () { /* the table remains */ });
    });
  }
  function ready() { timeZones(); charts(); }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', ready); else ready();
  document.addEventListener('htmx:afterSwap', timeZones);
})();
