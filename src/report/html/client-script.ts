/** The report page's own script: draws the charts with uPlot from the numbers embedded in
 * `#report-data`. Plain ES2017 in a string (no imports, no build step, no template literals):
 * the page is one offline file. Every number was computed in Node; this only draws. A chart that
 * fails logs to console.error and the others still draw; `body.dataset.chartsDrawn` counts the
 * charts drawn, for tests and for anyone wondering whether the page finished. */
export const CLIENT_SCRIPT = String.raw`
(function () {
  'use strict';
  var HEIGHT = 240;
  /** The baseline (run --baseline) is dashed and dark, behind this run's colours. */
  var BASELINE = '#6e40c9';
  var PALETTE = ['#0969da', '#cf222e', '#1a7f37', '#bc4c00', '#8250df', '#1b7c83', '#bf3989', '#9a6700', '#57606a', '#0550ae'];
  var CODE_SHADES = { ok: ['#2da44e', '#116329', '#6fdd8b'], redirect: ['#0969da', '#54aeff'], client: ['#d4a72c', '#bc4c00', '#f0b72f'], server: ['#cf222e', '#82071e', '#ff8182', '#a40e26'], socket: ['#57606a'], other: ['#8250df'] };

  function dpr() { return window.devicePixelRatio || 1; }

  function fmtNum(v) {
    if (v == null || !isFinite(v)) return '-';
    var a = Math.abs(v);
    if (a === 0) return '0';
    if (a >= 100) return v.toFixed(0);
    if (a >= 10) return v.toFixed(1);
    if (a >= 1) return v.toFixed(2);
    return v.toPrecision(3);
  }
  function fmtMs(v) { return v == null ? '-' : fmtNum(v) + ' ms'; }
  /** A log axis tick: 1us, 20us, 500us, 1ms, 2s. */
  function fmtTick(ms) {
    if (ms < 1) return +(ms * 1000).toPrecision(3) + '\u00b5s';
    if (ms < 1000) return +ms.toPrecision(3) + 'ms';
    return +(ms / 1000).toPrecision(3) + 's';
  }

  function codeClass(code) {
    var c = Number(code);
    if (c === -1) return 'socket';
    if (c >= 200 && c < 300) return 'ok';
    if (c >= 300 && c < 400) return 'redirect';
    if (c >= 400 && c < 500) return 'client';
    if (c >= 500 && c < 600) return 'server';
    return 'other';
  }

  function alpha(hex, a) {
    var n = parseInt(hex.slice(1), 16);
    return 'rgba(' + ((n >> 16) & 255) + ',' + ((n >> 8) & 255) + ',' + (n & 255) + ',' + a + ')';
  }

  /** 1, 2, 5 times powers of ten within [min, max]: readable ticks on a log axis. */
  function logSplits(min, max) {
    var out = [];
    var lo = Math.floor(Math.log10(min)), hi = Math.ceil(Math.log10(max));
    for (var e = lo; e <= hi; e++) {
      [1, 2, 5].forEach(function (m) {
        var v = m * Math.pow(10, e);
        if (v >= min * 0.999 && v <= max * 1.001) out.push(v);
      });
    }
    return out;
  }

  function percentLabel(inverse) {
    if (inverse <= 1) return '0%';
    var p = 100 * (1 - 1 / inverse);
    var decimals = Math.max(0, Math.round(Math.log10(inverse)) - 2);
    return p.toFixed(decimals) + '%';
  }

  function widthOf(el) { return Math.max(300, el.clientWidth - 14); }

  function histogram(spec) {
    var counts = spec.counts.concat([0]);
    var min = spec.edgesMs[0], max = spec.edgesMs[spec.edgesMs.length - 1];
    return {
      opts: {
        title: spec.title,
        scales: { x: { time: false, distr: 3, log: 10, range: function () { return [min, max]; } }, y: { range: function (u, lo, hi) { return [0, hi > 0 ? hi * 1.05 : 1]; } } },
        axes: [
          { label: 'latency (corrected)', space: 30, splits: function () { return logSplits(min, max); }, filter: function (u, splits) { return splits; },
            values: function (u, splits) {
              var wide = max / min > 20;
              return splits.map(function (v) { return v == null ? '' : !wide || /^1(\.0*)?e/.test(v.toExponential()) ? fmtTick(v) : ''; });
            } },
          { label: 'calls', size: 60 },
        ],
        series: [
          { label: 'from', value: function (u, v) { return fmtMs(v); } },
          { label: 'calls', stroke: '#0969da', fill: alpha('#0969da', 0.25), width: 1.5, points: { show: false }, paths: uPlot.paths.stepped({ align: 1 }) },
        ],
      },
      data: [spec.edgesMs, counts],
    };
  }

  function percentiles(spec) {
    var maxX = spec.x[spec.x.length - 1];
    var series = [
      { label: 'percentile', value: function (u, v) { return v == null ? '-' : percentLabel(v); } },
      { label: 'corrected', stroke: '#cf222e', width: 2, points: { show: false }, value: function (u, v) { return fmtMs(v); } },
    ];
    var data = [spec.x, spec.corrected];
    if (spec.uncorrected) {
      series.push({ label: 'uncorrected', stroke: '#0969da', width: 1.5, dash: [6, 4], points: { show: false }, value: function (u, v) { return fmtMs(v); } });
      data.push(spec.uncorrected);
    }
    if (spec.baseline) {
      series.push({ label: 'baseline', stroke: BASELINE, width: 2, dash: [3, 3], points: { show: false }, value: function (u, v) { return fmtMs(v); } });
      data.push(spec.baseline);
    }
    return {
      opts: {
        title: spec.title,
        scales: { x: { time: false, distr: 3, log: 10, range: function () { return [1, maxX]; } }, y: { range: function (u, lo, hi) { return [0, hi > 0 ? hi * 1.05 : 1]; } } },
        axes: [
          { label: 'percentile', splits: function () { var s = []; for (var v = 1; v <= maxX * 1.001; v *= 10) s.push(v); return s; }, filter: function (u, splits) { return splits; }, values: function (u, splits) { return splits.map(function (v) { return v == null ? '' : percentLabel(v); }); } },
          { label: 'latency (ms)', size: 60 },
        ],
        series: series,
      },
      data: data,
    };
  }

  /** Phases as shaded bands under the series, with their names; drawn before the grid. */
  function drawBands(spec) {
    return function (u) {
      var ctx = u.ctx, r = dpr();
      ctx.save();
      ctx.beginPath();
      ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
      ctx.clip();
      ctx.font = (11 * r) + 'px system-ui, sans-serif';
      ctx.textBaseline = 'top';
      ctx.textAlign = 'left';
      spec.bands.forEach(function (b, i) {
        var x0 = u.valToPos(b.startS, 'x', true), x1 = u.valToPos(b.endS, 'x', true);
        ctx.fillStyle = i % 2 === 0 ? 'rgba(110,119,129,0.12)' : 'rgba(110,119,129,0.05)';
        ctx.fillRect(x0, u.bbox.top, Math.max(1, x1 - x0), u.bbox.height);
        var label = b.name, room = x1 - x0 - 8 * r;
        while (label.length > 1 && ctx.measureText(label).width > room) label = label.slice(0, -2) + '\u2026';
        if (room > 12 * r) {
          ctx.fillStyle = '#424a53';
          ctx.fillText(label, x0 + 4 * r, u.bbox.top + 3 * r);
        }
      });
      ctx.restore();
    };
  }

  /** Steps as dashed vertical lines, labelled at the bottom over a white box: the whole label
   * when it fits before the next step's line, else the step's kind, else nothing (the table
   * under the chart lists them all). */
  function drawMarks(spec) {
    return function (u) {
      var ctx = u.ctx, r = dpr();
      var left = u.bbox.left, right = u.bbox.left + u.bbox.width;
      var marks = spec.marks
        .map(function (m) { return { m: m, x: Math.round(u.valToPos(m.atS, 'x', true)) }; })
        .filter(function (p) { return p.x >= left - 1 && p.x <= right + 1; })
        .sort(function (a, b) { return a.x - b.x; });
      ctx.save();
      ctx.font = (10 * r) + 'px system-ui, sans-serif';
      ctx.textBaseline = 'middle';
      ctx.textAlign = 'left';
      var rowH = 13 * r, y = u.bbox.top + u.bbox.height - rowH;
      marks.forEach(function (p, i) {
        var color = p.m.ok ? '#24292f' : '#cf222e';
        ctx.strokeStyle = color;
        ctx.globalAlpha = 0.8;
        ctx.lineWidth = r;
        ctx.setLineDash([4 * r, 3 * r]);
        ctx.beginPath();
        ctx.moveTo(p.x, u.bbox.top + 16 * r);
        ctx.lineTo(p.x, u.bbox.top + u.bbox.height);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.globalAlpha = 1;
        var next = marks[i + 1];
        var room = (next ? next.x : right) - p.x - 8 * r;
        var label = [p.m.label, p.m.kind].filter(function (text) { return ctx.measureText(text).width + 6 * r <= room; })[0];
        if (label === undefined) return;
        var w = ctx.measureText(label).width + 6 * r;
        ctx.fillStyle = 'rgba(255,255,255,0.85)';
        ctx.fillRect(p.x + 2 * r, y - rowH / 2, w, rowH);
        ctx.fillStyle = color;
        ctx.fillText(label, p.x + 5 * r, y);
      });
      ctx.restore();
    };
  }

  function timeAxis(spec) {
    return { time: false, range: function () { return [spec.startS, spec.endS]; } };
  }

  function rate(spec) {
    var steps = uPlot.paths.stepped({ align: 1 });
    var shades = {};
    var raw = [null];
    var series = [{ label: 'time', value: function (u, v) { return v == null ? '-' : v.toFixed(2) + ' s'; } }];
    var data = [spec.x];
    var bands = [];
    var sum = spec.x.map(function () { return 0; });
    spec.codes.forEach(function (c, i) {
      var cls = codeClass(c.code);
      var k = shades[cls] || 0;
      shades[cls] = k + 1;
      var list = CODE_SHADES[cls];
      var color = list[k % list.length];
      var stacked = c.values.map(function (v, j) { if (v == null) return null; sum[j] += v; return sum[j]; });
      raw.push(c.values);
      var idx = series.length;
      series.push({ label: c.code === '-1' ? 'socket error' : c.code, stroke: color, width: 1, fill: i === 0 ? alpha(color, 0.45) : undefined, points: { show: false }, paths: steps,
        value: function (u, v, si, di) { var rv = di == null ? null : raw[idx][di]; return rv == null ? '-' : fmtNum(rv) + '/s'; } });
      data.push(stacked);
      if (i > 0) bands.push({ series: [idx, idx - 1], fill: alpha(color, 0.45) });
    });
    series.push({ label: 'requests/s', stroke: '#24292f', width: 1.5, points: { show: false }, paths: steps, value: function (u, v) { return v == null ? '-' : fmtNum(v) + '/s'; } });
    data.push(spec.rps);
    if (spec.baselineRps) {
      series.push({ label: 'baseline requests/s', stroke: BASELINE, width: 2, dash: [6, 4], points: { show: false }, paths: steps, value: function (u, v) { return v == null ? '-' : fmtNum(v) + '/s'; } });
      data.push(spec.baselineRps);
    }
    return {
      opts: {
        title: spec.title,
        scales: { x: timeAxis(spec), y: { range: function (u, lo, hi) { return [0, hi > 0 ? hi * 1.1 : 1]; } } },
        axes: [{ label: 'seconds since the run started' }, { label: 'calls/s (stacked by status)', size: 60 }],
        series: series,
        bands: bands,
        cursor: { sync: { key: 'timeline' } },
        hooks: { drawClear: [drawBands(spec)], draw: [drawMarks(spec)] },
      },
      data: data,
    };
  }

  function latencyOverTime(spec) {
    var series = [
      { label: 'time', value: function (u, v) { return v == null ? '-' : v.toFixed(2) + ' s'; } },
      { label: 'p50', stroke: '#0969da', width: 1.5, points: { show: false }, paths: uPlot.paths.stepped({ align: 1 }), value: function (u, v) { return fmtMs(v); } },
      { label: 'p99', stroke: '#cf222e', width: 1.5, points: { show: false }, paths: uPlot.paths.stepped({ align: 1 }), value: function (u, v) { return fmtMs(v); } },
    ];
    var data = [spec.x, spec.p50, spec.p99];
    if (spec.baselineP99) {
      series.push({ label: 'baseline p99', stroke: BASELINE, width: 2, dash: [6, 4], points: { show: false }, paths: uPlot.paths.stepped({ align: 1 }), value: function (u, v) { return fmtMs(v); } });
      data.push(spec.baselineP99);
    }
    return {
      opts: {
        title: spec.title,
        scales: { x: timeAxis(spec), y: { range: function (u, lo, hi) { return [0, hi > 0 ? hi * 1.1 : 1]; } } },
        axes: [{ label: 'seconds since the run started' }, { label: 'latency (ms)', size: 60 }],
        series: series,
        cursor: { sync: { key: 'timeline' } },
        hooks: { drawClear: [drawBands(spec)], draw: [drawMarks(spec)] },
      },
      data: data,
    };
  }

  /** Proxy gauges over time on the timeline's axis: each sampled value held until the next. */
  function gaugesOverTime(spec) {
    var steps = uPlot.paths.stepped({ align: 1 });
    var series = [{ label: 'time', value: function (u, v) { return v == null ? '-' : v.toFixed(2) + ' s'; } }];
    var data = [spec.x];
    spec.series.forEach(function (s, i) {
      series.push({ label: s.label, stroke: PALETTE[i % PALETTE.length], width: 2, points: { show: false }, paths: steps, value: function (u, v) { return fmtNum(v); } });
      data.push(s.values);
    });
    return {
      opts: {
        title: spec.title,
        scales: { x: timeAxis(spec), y: { range: function (u, lo, hi) { return [0, hi > 0 ? hi * 1.15 : 1]; } } },
        axes: [{ label: 'seconds since the run started' }, { label: 'gauge value', size: 60 }],
        series: series,
        cursor: { sync: { key: 'timeline' } },
        hooks: { drawClear: [drawBands(spec)], draw: [drawMarks(spec)] },
      },
      data: data,
    };
  }

  function gauges(spec) {
    var n = spec.phases.length;
    var x = spec.phases.map(function (p, i) { return i; });
    var series = [{ label: 'phase', value: function (u, v) { return v == null ? '-' : spec.phases[v]; } }];
    var data = [x];
    spec.series.forEach(function (s, i) {
      series.push({ label: s.label, stroke: PALETTE[i % PALETTE.length], width: 1.5, points: { show: true, size: 8 }, value: function (u, v) { return fmtNum(v); } });
      data.push(s.values);
    });
    return {
      opts: {
        title: spec.title,
        scales: { x: { time: false, range: function () { return [-0.5, n - 0.5]; } }, y: { range: function (u, lo, hi) { return [0, hi > 0 ? hi * 1.1 : 1]; } } },
        axes: [
          { label: 'phase', splits: function () { return x; }, values: function (u, splits) { return splits.map(function (v) { var name = spec.phases[v] || ''; return name.length > 18 ? name.slice(0, 17) + '\u2026' : name; }); } },
          { label: 'gauge maximum', size: 60 },
        ],
        series: series,
      },
      data: data,
    };
  }

  var BUILDERS = { histogram: histogram, percentiles: percentiles, rate: rate, 'latency-time': latencyOverTime, 'gauge-time': gaugesOverTime, gauges: gauges };

  function main() {
    var drawn = 0;
    var plots = [];
    try {
      if (typeof uPlot === 'undefined') throw new Error('uPlot did not load');
      var data = JSON.parse(document.getElementById('report-data').textContent);
      var elements = document.querySelectorAll('.chart[data-chart]');
      Array.prototype.forEach.call(elements, function (el) {
        var id = el.getAttribute('data-chart');
        try {
          var spec = data.charts[id];
          if (!spec) throw new Error('no data for chart ' + id);
          var built = BUILDERS[spec.kind](spec);
          built.opts.width = widthOf(el);
          built.opts.height = HEIGHT;
          plots.push({ el: el, plot: new uPlot(built.opts, built.data, el) });
          drawn++;
        } catch (error) {
          console.error('meshload report: chart ' + id + ' failed: ' + (error && error.stack ? error.stack : error));
        }
      });
    } catch (error) {
      console.error('meshload report: charts failed: ' + (error && error.stack ? error.stack : error));
    }
    document.body.dataset.chartsDrawn = String(drawn);
    var pending = 0;
    window.addEventListener('resize', function () {
      clearTimeout(pending);
      pending = setTimeout(function () {
        plots.forEach(function (p) { p.plot.setSize({ width: widthOf(p.el), height: HEIGHT }); });
      }, 150);
    });
  }

  main();
})();
`;
