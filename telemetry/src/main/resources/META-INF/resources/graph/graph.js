// Draws /api/graph as SVG, refreshing every two seconds. Plain JavaScript, no dependencies, works offline.
(function () {
  'use strict';
  var SVG = 'http://www.w3.org/2000/svg';
  var NODE_W = 190, NODE_H = 40, COL_GAP = 190, ROW_GAP = 44, MARGIN = 30;

  function el(name, attrs, text) {
    var e = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function fmtMs(v) { return v === null || v === undefined ? '–' : (v < 10 ? v.toFixed(1) : Math.round(v)) + 'ms'; }
  function fmtRps(v) { return v < 10 ? v.toFixed(2) : v.toFixed(1); }
  function fmtPct(v) { return (v * 100).toFixed(1) + '%'; }
  function fmtBytes(v) {
    if (v === null || v === undefined) { return '–'; }
    return v < 1024 ? Math.round(v) + ' B' : v < 1048576 ? (v / 1024).toFixed(1) + ' KiB' : (v / 1048576).toFixed(1) + ' MiB';
  }
  function tcp(e) { return e.protocol === 'tcp'; }
  // An HTTP edge: rate and errors, then latency; a TCP edge (Istio's TCP metrics): connections, then bytes.
  function labelLines(e) {
    return tcp(e) ? [fmtRps(e.rps) + ' conn/s · tcp', fmtBytes(e.bytesPerSecond) + '/s']
      : [fmtRps(e.rps) + ' rps · ' + fmtPct(e.errorRate) + ' err', 'p50 ' + fmtMs(e.p50Ms) + ' · p99 ' + fmtMs(e.p99Ms)];
  }
  function edgeLabel(e) { return labelLines(e).join(' · '); }

  // Layered layout: a node's column is its longest distance from a node without incoming edges.
  function layout(graph) {
    var incoming = {}, outgoing = {}, depth = {};
    graph.nodes.forEach(function (n) { incoming[n.id] = 0; outgoing[n.id] = []; });
    graph.edges.forEach(function (e) { incoming[e.target]++; outgoing[e.source].push(e.target); });
    var queue = graph.nodes.filter(function (n) { return incoming[n.id] === 0; }).map(function (n) { return n.id; });
    if (queue.length === 0 && graph.nodes.length) { queue = [graph.nodes[0].id]; }
    queue.forEach(function (id) { depth[id] = 0; });
    for (var i = 0; i < queue.length && i < 10000; i++) {
      var id = queue[i];
      outgoing[id].forEach(function (t) {
        if (depth[t] === undefined || depth[t] < depth[id] + 1) {
          if (depth[id] + 1 < graph.nodes.length) { depth[t] = depth[id] + 1; queue.push(t); }
        }
      });
    }
    var columns = {}, pos = {};
    graph.nodes.forEach(function (n) {
      var d = depth[n.id] || 0;
      (columns[d] = columns[d] || []).push(n);
    });
    var maxRows = 0, maxCol = 0;
    Object.keys(columns).forEach(function (d) {
      columns[d].forEach(function (n, row) {
        pos[n.id] = { x: MARGIN + d * (NODE_W + COL_GAP), y: MARGIN + row * (NODE_H + ROW_GAP) };
      });
      maxRows = Math.max(maxRows, columns[d].length);
      maxCol = Math.max(maxCol, +d);
    });
    return { pos: pos, width: MARGIN * 2 + (maxCol + 1) * (NODE_W + COL_GAP), height: MARGIN * 2 + maxRows * (NODE_H + ROW_GAP) };
  }

  function draw(graph) {
    var svg = document.getElementById('graph');
    var edgesG = document.getElementById('edges'), nodesG = document.getElementById('nodes');
    edgesG.textContent = ''; nodesG.textContent = '';
    var l = layout(graph);
    svg.setAttribute('viewBox', '0 0 ' + Math.max(l.width, 600) + ' ' + Math.max(l.height, 300));
    graph.edges.forEach(function (e) {
      var a = l.pos[e.source], b = l.pos[e.target];
      if (!a || !b) { return; }
      var x1 = a.x + NODE_W, y1 = a.y + NODE_H / 2, x2 = b.x, y2 = b.y + NODE_H / 2;
      if (x2 <= x1) { x1 = a.x + NODE_W / 2; y1 = a.y + NODE_H; x2 = b.x + NODE_W / 2; y2 = b.y; }
      var error = e.errorRate > 0;
      var g = el('g', { 'class': 'edge' + (error ? ' error' : '') + (tcp(e) ? ' tcp' : ''), 'data-source': e.source, 'data-target': e.target });
      var mx = (x1 + x2) / 2;
      g.appendChild(el('path', { d: 'M' + x1 + ',' + y1 + ' C' + mx + ',' + y1 + ' ' + mx + ',' + y2 + ' ' + x2 + ',' + y2,
        'marker-end': error ? 'url(#arrow-error)' : 'url(#arrow)' }));
      // Two lines, so the label fits between columns.
      var lines = labelLines(e);
      var label = el('text', { 'class': 'edge-label', x: mx, y: (y1 + y2) / 2 - 18 });
      label.appendChild(el('tspan', { x: mx, dy: 0 }, lines[0]));
      label.appendChild(el('tspan', { x: mx, dy: 12 }, lines[1]));
      label.appendChild(el('title', {}, edgeLabel(e)));
      g.appendChild(label);
      edgesG.appendChild(g);
    });
    graph.nodes.forEach(function (n) {
      var p = l.pos[n.id];
      var g = el('g', { 'class': 'node ' + n.kind + (n.error ? ' error' : ''), 'data-id': n.id, transform: 'translate(' + p.x + ',' + p.y + ')' });
      g.appendChild(el('rect', { width: NODE_W, height: NODE_H, rx: 6 }));
      var name = n.name.length > 26 ? n.name.slice(0, 25) + '…' : n.name;
      g.appendChild(el('text', { 'class': 'name', x: NODE_W / 2, y: NODE_H / 2 - 5 }, name));
      g.appendChild(el('text', { 'class': 'kind', x: NODE_W / 2, y: NODE_H / 2 + 10 }, n.kind + (n.namespace ? ' · ' + n.namespace : '')));
      g.appendChild(el('title', {}, n.id));
      nodesG.appendChild(g);
    });
    var tbody = document.querySelector('#edge-table tbody');
    tbody.textContent = '';
    graph.edges.forEach(function (e) {
      var tr = document.createElement('tr');
      if (e.errorRate > 0) { tr.className = 'error'; }
      [e.source, e.target, e.protocol, fmtRps(e.rps), tcp(e) ? '–' : fmtPct(e.errorRate), fmtMs(e.p50Ms), fmtMs(e.p99Ms),
        fmtBytes(e.bytesPerSecond), e.origin].forEach(function (v) {
        var td = document.createElement('td'); td.textContent = v; tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
    document.getElementById('status').textContent = graph.nodes.length + ' nodes, ' + graph.edges.length +
      ' edges, window ' + graph.windowSeconds + 's, updated ' + new Date(graph.generatedAtMillis).toLocaleTimeString();
  }

  function refresh() {
    fetch('/api/graph', { cache: 'no-store' })
      .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.json(); })
      .then(draw)
      .catch(function (e) { document.getElementById('status').textContent = 'cannot load the graph: ' + e.message; })
      .finally(function () { setTimeout(refresh, 2000); });
  }
  refresh();
}());
