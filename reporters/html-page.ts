// The page script and style of the HTML comparison (reporters/html.ts inlines them with Chart.js and the
// data). Plain browser JavaScript in a string: the project compiles for Node, and the page must run
// with no build step and no network. Test names reach the DOM only through textContent.

export const PAGE_STYLE = `
:root { --bad: #d62728; --good: #2ca02c; --same: #8c8c8c; --added: #1f77b4; --removed: #444; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #1b1b1b; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; }
h1.bad { color: var(--bad); } h1.good { color: var(--good); }
.meta { color: #555; margin: 0 0 16px; overflow-wrap: anywhere; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(420px, 100%), 1fr)); gap: 16px; }
.chart { border: 1px solid #ddd; border-radius: 6px; padding: 8px; }
.chart h2, section h2 { font-size: 15px; margin: 4px 0 8px; }
.chart .box { position: relative; }
/* the table is wider than a laptop's screen: it scrolls in its own box, not the page, with its
   header row and test column held in place while it does; a shadow at the right edge says there is
   more, and the white layer that scrolls with the table covers it at the end */
.table-box { overflow: auto; max-width: 100%; max-height: 80vh; margin-top: 8px; border: 1px solid #ddd; border-radius: 6px;
  background: linear-gradient(to left, #fff 40%, rgba(255, 255, 255, 0)) right / 48px 100% no-repeat local,
    radial-gradient(farthest-side at 100% 50%, rgba(0, 0, 0, 0.22), rgba(0, 0, 0, 0)) right / 16px 100% no-repeat scroll, #fff; }
table { border-collapse: separate; border-spacing: 0; width: 100%; } /* separate: a held cell keeps its borders */
th, td { border-bottom: 1px solid #e4e4e4; padding: 4px 8px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child, th.text, td.text { text-align: left; }
th { cursor: pointer; user-select: none; background: #f6f6f6; position: sticky; top: 0; z-index: 2; }
td:first-child { position: sticky; left: 0; background: #fff; z-index: 1; }
th:first-child, td:first-child { border-right: 1px solid #e4e4e4; }
th:first-child { left: 0; z-index: 3; }
th[aria-sort="ascending"]::after { content: " ▲"; } th[aria-sort="descending"]::after { content: " ▼"; }
tr.regression td:first-child { border-left: 4px solid var(--bad); }
tr.improvement td:first-child { border-left: 4px solid var(--good); }
tr.added td:first-child { border-left: 4px solid var(--added); }
tr.removed td:first-child { border-left: 4px solid var(--removed); }
td.bad { color: var(--bad); font-weight: 600; } td.good { color: var(--good); font-weight: 600; }
td canvas { display: block; }
`;

export const PAGE_SCRIPT = `
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('comparison-data').textContent);
  var css = getComputedStyle(document.documentElement);
  var colour = {
    regression: css.getPropertyValue('--bad').trim(),
    improvement: css.getPropertyValue('--good').trim(),
    unchanged: css.getPropertyValue('--same').trim(),
    added: css.getPropertyValue('--added').trim(),
    removed: css.getPropertyValue('--removed').trim(),
  };
  Chart.defaults.animation = false;
  Chart.defaults.font.size = 12;

  // 1. bar chart: per-test change of CPU and memory peak, in percent of BASE
  var both = data.tests.filter(function (t) { return t.presence === 'both'; });
  var barBox = document.getElementById('bars-box');
  barBox.style.height = Math.max(160, 26 * both.length + 70) + 'px';
  // colour says the figure (as in the history lines); a faded bar is a change that did not count
  function barSet(metric, label, rgb) {
    return {
      label: label,
      data: both.map(function (t) { return t.metrics[metric].pct === null ? null : t.metrics[metric].pct * 100; }),
      backgroundColor: both.map(function (t) {
        return 'rgba(' + rgb + ',' + (t.metrics[metric].verdict === 'unchanged' ? 0.3 : 1) + ')';
      }),
      borderColor: 'rgb(' + rgb + ')',
      borderWidth: 1,
    };
  }
  new Chart(document.getElementById('bars'), {
    type: 'bar',
    data: { labels: both.map(function (t) { return t.key; }), datasets: [barSet('cpu', 'CPU Δ%', '255,127,14'), barSet('memory', 'memory peak Δ%', '31,119,180')] },
    options: {
      indexAxis: 'y', maintainAspectRatio: false,
      scales: { x: { title: { display: true, text: 'change against BASE median (%)' } } },
      plugins: {
        // the swatch shows the figure's full colour, not the first bar's (which may be faded)
        legend: { labels: { generateLabels: function (chart) {
          return Chart.defaults.plugins.legend.labels.generateLabels(chart).map(function (item) {
            item.fillStyle = chart.data.datasets[item.datasetIndex].borderColor; return item;
          });
        } } },
        tooltip: { callbacks: { label: function (ctx) {
        var t = both[ctx.dataIndex]; var m = t.metrics[ctx.datasetIndex === 0 ? 'cpu' : 'memory'];
        return ctx.dataset.label + ': ' + m.text + ' — ' + m.significance;
      } } },
      },
    },
  });

  // 2. scatter: CPU against peak memory (HEAD's medians; BASE's for a removed test), coloured by change
  var groups = ['regression', 'improvement', 'unchanged', 'added', 'removed'];
  new Chart(document.getElementById('scatter'), {
    type: 'scatter',
    data: { datasets: groups.map(function (g) {
      return {
        label: g,
        backgroundColor: colour[g], borderColor: colour[g], pointRadius: 5,
        data: data.tests.filter(function (t) { return t.verdict === g && t.point; })
          .map(function (t) { return { x: t.point.cpuMs, y: t.point.memoryMiB, key: t.key }; }),
      };
    }).filter(function (d) { return d.data.length > 0; }) },
    options: {
      maintainAspectRatio: false,
      scales: {
        x: { title: { display: true, text: 'CPU (ms, median)' }, beginAtZero: true },
        y: { title: { display: true, text: 'memory peak (MiB, median)' }, beginAtZero: true },
      },
      plugins: { tooltip: { callbacks: { label: function (ctx) {
        return ctx.raw.key + ': ' + Math.round(ctx.raw.x) + ' ms, ' + ctx.raw.y.toFixed(1) + ' MiB';
      } } } },
    },
  });

  // 3. the table, sortable by a click on any header; 4. a history line per test with > 2 runs
  var columns = [
    { key: 'key', label: 'test', text: true, value: function (t) { return t.key; } },
    { key: 'verdict', label: 'change', text: true, value: function (t) { return t.verdict; }, order: function (t) { return t.rank; } },
    { key: 'status', label: 'status', text: true, value: function (t) { return t.status; } },
  ];
  data.metrics.forEach(function (m) {
    columns.push({ key: m.name + '-before', label: m.label + ' before', value: function (t) { return t.metrics[m.name].beforeText; }, order: function (t) { return t.metrics[m.name].before; } });
    columns.push({ key: m.name + '-after', label: m.label + ' after', value: function (t) { return t.metrics[m.name].afterText; }, order: function (t) { return t.metrics[m.name].after; } });
    columns.push({ key: m.name + '-pct', label: m.label + ' Δ%', value: function (t) { return t.metrics[m.name].pctText; }, order: function (t) { return t.metrics[m.name].pct; }, verdict: m.name });
  });
  var table = document.getElementById('tests');
  var head = table.createTHead().insertRow();
  columns.forEach(function (c) {
    var th = document.createElement('th');
    th.textContent = c.label; th.dataset.sort = c.key; th.className = c.text ? 'text' : '';
    head.appendChild(th);
  });
  if (data.history) { var th = document.createElement('th'); th.textContent = 'history (CPU, memory)'; th.className = 'text'; head.appendChild(th); }
  var body = table.createTBody();
  var rows = data.tests.map(function (t) {
    var tr = body.insertRow(); tr.className = t.verdict; tr.dataset.key = t.key;
    columns.forEach(function (c) {
      var td = tr.insertCell(); td.textContent = c.value(t);
      if (c.text) td.className = 'text';
      if (c.verdict) { var v = t.metrics[c.verdict].verdict; td.className = v === 'regression' ? 'bad' : v === 'improvement' ? 'good' : ''; td.title = t.metrics[c.verdict].significance; }
    });
    if (data.history) {
      var td = tr.insertCell(); var canvas = document.createElement('canvas');
      canvas.width = 160; canvas.height = 34; canvas.className = 'history'; td.appendChild(canvas);
      sparkline(canvas, t);
    }
    return { tr: tr, t: t };
  });

  function sparkline(canvas, t) {
    var points = t.history;
    var sideColour = points.map(function (p) { return p.side === 'base' ? '#9a9a9a' : colour[t.verdict] || '#333'; });
    new Chart(canvas, {
      type: 'line',
      data: { labels: points.map(function (p) { return p.run; }), datasets: [
        { label: 'CPU ms', data: points.map(function (p) { return p.cpuMs; }), yAxisID: 'cpu', borderColor: '#ff7f0e', borderWidth: 1.5, pointRadius: 2, pointBackgroundColor: sideColour, spanGaps: true },
        { label: 'memory MiB', data: points.map(function (p) { return p.memoryMiB; }), yAxisID: 'mem', borderColor: '#1f77b4', borderWidth: 1.5, pointRadius: 2, pointBackgroundColor: sideColour, spanGaps: true },
      ] },
      options: {
        responsive: false, events: ['mousemove', 'mouseout'],
        layout: { padding: 3 },
        scales: { x: { display: false }, cpu: { display: false }, mem: { display: false } },
        plugins: { legend: { display: false }, tooltip: { callbacks: { title: function (items) { return items[0].label; } } } },
      },
    });
  }

  var sorted = { key: null, dir: 1 };
  head.addEventListener('click', function (event) {
    var th = event.target.closest('th'); if (!th || !th.dataset.sort) return;
    var column = columns.find(function (c) { return c.key === th.dataset.sort; });
    sorted.dir = sorted.key === column.key ? -sorted.dir : 1; sorted.key = column.key;
    var get = column.order || column.value;
    rows.sort(function (a, b) {
      var x = get(a.t), y = get(b.t);
      if (x === null || x === undefined) return 1; if (y === null || y === undefined) return -1;
      return (typeof x === 'number' ? x - y : String(x).localeCompare(String(y))) * sorted.dir;
    });
    rows.forEach(function (r) { body.appendChild(r.tr); });
    Array.prototype.forEach.call(head.children, function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', sorted.dir === 1 ? 'ascending' : 'descending');
  });
  document.body.dataset.ready = 'true';
})();
`;
