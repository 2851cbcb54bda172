// Cairn's dashboard script: follows /dashboard/events and renders each snapshot. The page is
// built with DOM calls only, and every value goes in as a text node or an attribute value,
// never as markup, so a key or service name cannot inject HTML. No framework, no build step.

(() => {
  const SVG = 'http://www.w3.org/2000/svg';
  let current = 'members';
  let last = null;

  /** An element with attributes and children (strings become text nodes). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {}))
      if (v !== undefined && v !== null) node.setAttribute(k, String(v));
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    return node;
  }

  function table(headers, rows, testid) {
    return el(
      'table',
      { 'data-testid': testid },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          headers.map((h) => el('th', {}, h)),
        ),
      ),
      el('tbody', {}, rows),
    );
  }

  function pill(text, cls) {
    return el('span', { class: `pill ${cls || text}` }, text);
  }

  function empty(text) {
    return el('p', { class: 'empty' }, text);
  }

  function ago(unixMs, now) {
    if (!unixMs) return '–';
    const s = Math.round((now - unixMs) / 1000);
    if (Math.abs(s) < 120) return s >= 0 ? `${s}s ago` : `in ${-s}s`;
    const m = Math.round(s / 60);
    return m >= 0 ? `${m}m ago` : `in ${-m}m`;
  }

  function bytes(n) {
    if (n === undefined) return '–';
    const units = ['B', 'KiB', 'MiB', 'GiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
  }

  function renderMembers(s) {
    const rows = s.members.map((m) =>
      el(
        'tr',
        { 'data-member': m.name },
        el('td', {}, m.name, m.self ? el('span', { class: 'note' }, ' (this member)') : null),
        el('td', { class: 'mono' }, m.id),
        el('td', {}, pill(m.role, m.role === 'leader' ? 'leader' : '')),
        el('td', { class: 'num' }, m.term ?? '–'),
        el('td', { class: 'num' }, m.commitIndex ?? '–'),
        el('td', { class: 'num' }, m.appliedIndex ?? '–'),
        el('td', { class: 'num' }, bytes(m.dbSizeBytes)),
        el('td', { class: 'num' }, m.rttMs === undefined ? '–' : `${m.rttMs.toFixed(1)} ms`),
        el(
          'td',
          {},
          el(
            'span',
            { class: m.healthy ? 'ok' : 'bad', 'data-health': m.healthy ? 'healthy' : 'unhealthy' },
            m.healthy ? 'healthy' : `unhealthy${m.error ? `: ${m.error}` : ''}`,
          ),
        ),
        el('td', { class: 'mono' }, m.clientUrls.join(', ')),
      ),
    );
    return [
      table(
        ['name', 'id', 'role', 'term', 'commit', 'applied', 'db size', 'round trip', 'health', 'client URLs'],
        rows,
        'members',
      ),
      el(
        'p',
        { class: 'note' },
        'This member reports its own status; the others answer Maintenance.Status over their peer URL every second.',
      ),
    ];
  }

  function renderServices(s) {
    if (s.services.length === 0) return [empty('No service instances are registered.')];
    return s.services.flatMap((svc) => {
      const serving = svc.instances.filter((i) => i.state === 'SERVING').length;
      const rows = svc.instances.map((i) =>
        el(
          'tr',
          { 'data-instance': i.instanceId },
          el('td', { class: 'mono' }, i.instanceId),
          el('td', { class: 'mono' }, i.address),
          el('td', {}, pill(i.state)),
          el('td', { class: 'num' }, i.weight),
          el('td', {}, i.zone || '–'),
          el('td', { class: 'num' }, i.inFlight ?? '–'),
          el(
            'td',
            { class: 'num' },
            i.cpuUtilization === null ? '–' : `${Math.round(i.cpuUtilization * 100)}%`,
          ),
          el('td', { class: 'mono' }, i.lease),
        ),
      );
      return [
        el(
          'h2',
          {},
          svc.service,
          el('span', { class: 'note' }, ` — ${serving} of ${svc.instances.length} serving`),
        ),
        table(
          ['instance', 'address', 'state', 'weight', 'zone', 'in flight', 'cpu', 'lease'],
          rows,
          `service:${svc.service}`,
        ),
        svc.moreInstances > 0 ? el('p', { class: 'note' }, `${svc.moreInstances} more not shown`) : null,
      ];
    });
  }

  function renderLocks(s) {
    if (s.locks.length === 0) return [empty('No lock is held.')];
    const rows = s.locks.map((l) =>
      el(
        'tr',
        { 'data-lock': l.name },
        el('td', { class: 'mono' }, l.name),
        el('td', { class: 'mono', 'data-field': 'holder' }, l.holder.owner || '(no owner given)'),
        el('td', { class: 'num', 'data-field': 'fencing-token' }, l.holder.fencingToken),
        el('td', { class: 'mono' }, l.holder.lease),
        el(
          'td',
          {},
          l.waiters.length === 0
            ? '–'
            : el(
                'ol',
                {},
                l.waiters.map((w) =>
                  el('li', { class: 'mono' }, `${w.owner || '(no owner)'} · token ${w.fencingToken}`),
                ),
              ),
          l.moreWaiters > 0 ? el('span', { class: 'note' }, `+${l.moreWaiters} more`) : null,
        ),
      ),
    );
    return [table(['lock', 'holder', 'fencing token', 'lease', 'queue'], rows, 'locks')];
  }

  function renderTransactions(s, now) {
    const t = s.transactions;
    const inFlight = t.inFlight.map((x) =>
      el(
        'tr',
        { 'data-txn': x.id },
        el('td', { class: 'mono' }, x.id),
        el(
          'td',
          {},
          x.participants.map((p) => {
            const vote = x.votes[p];
            return el(
              'div',
              {},
              `${p}: `,
              vote
                ? pill(vote === 'YES' ? 'yes' : 'no', vote === 'YES' ? 'COMMIT' : 'ABORT')
                : el('span', { class: 'note' }, 'waiting'),
            );
          }),
        ),
        el('td', {}, ago(x.beganUnixMs, now)),
        el('td', {}, ago(x.deadlineUnixMs, now)),
      ),
    );
    const recent = t.recent.map((x) =>
      el(
        'tr',
        { 'data-txn': x.id },
        el('td', { class: 'mono' }, x.id),
        el('td', {}, pill(x.state)),
        el('td', {}, x.reason || '–'),
        el('td', {}, `${x.acks.length} of ${x.participants.length}`),
        el('td', {}, ago(x.decidedUnixMs, now)),
      ),
    );
    return [
      el('h2', {}, 'In flight'),
      inFlight.length
        ? table(['transaction', 'votes', 'began', 'deadline'], inFlight, 'txn-in-flight')
        : empty('No transaction is preparing.'),
      el('h2', {}, 'Recent decisions'),
      recent.length
        ? table(['transaction', 'decision', 'reason', 'acknowledged', 'decided'], recent, 'txn-recent')
        : empty('No decision yet.'),
    ];
  }

  /** A line chart of one or more series over the points, as inline SVG. */
  function chart(title, points, lines, unit) {
    const w = 520,
      h = 140,
      pad = 28;
    const box = svg('svg', { viewBox: `0 0 ${w} ${h}`, width: '100%', role: 'img' });
    const values = points.flatMap((p) => lines.map((l) => p[l.key]).filter((v) => typeof v === 'number'));
    const max = Math.max(1, ...values);
    const x = (i) => pad + (i * (w - pad - 6)) / Math.max(1, points.length - 1);
    const y = (v) => h - 18 - (v * (h - 30)) / max;
    box.append(svg('line', { x1: pad, y1: h - 18, x2: w - 6, y2: h - 18, stroke: '#ccd' }));
    const top = svg('text', { x: 2, y: 14, 'font-size': 10, fill: '#667085' });
    top.textContent = `${max.toFixed(max < 10 ? 1 : 0)} ${unit}`;
    box.append(top);
    const span = svg('text', { x: pad, y: h - 4, 'font-size': 10, fill: '#667085' });
    span.textContent = points.length ? `last ${points.length}s` : 'no data yet';
    box.append(span);
    for (const l of lines) {
      const d = [];
      points.forEach((p, i) => {
        const v = p[l.key];
        if (typeof v === 'number') d.push(`${d.length ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`);
      });
      if (d.length)
        box.append(svg('path', { d: d.join(' '), fill: 'none', stroke: l.color, 'stroke-width': 1.6 }));
    }
    const lastPoint = points[points.length - 1] || {};
    const legend = el(
      'div',
      { class: 'legend' },
      lines.map((l) =>
        el(
          'span',
          { style: `color:${l.color}; margin-right: 12px` },
          `■ ${l.label}: ${typeof lastPoint[l.key] === 'number' ? lastPoint[l.key].toFixed(l.digits || 0) : '–'}`,
        ),
      ),
    );
    return el('div', { class: 'chart' }, el('h3', {}, title), box, legend);
  }

  function renderTraffic(s) {
    const p = s.series;
    return [
      el(
        'div',
        { class: 'charts' },
        chart(
          'gRPC calls per second (this member)',
          p,
          [
            { key: 'calls', label: 'calls', color: '#2f5fd0' },
            { key: 'failedCalls', label: 'failed', color: '#c0362c' },
          ],
          '/s',
        ),
        chart(
          'Entries committed per second',
          p,
          [{ key: 'committedEntries', label: 'entries', color: '#12805c' }],
          '/s',
        ),
        chart(
          'Unary call latency',
          p,
          [
            { key: 'p50Ms', label: 'p50 ms', color: '#2f5fd0', digits: 2 },
            { key: 'p99Ms', label: 'p99 ms', color: '#b7791f', digits: 2 },
          ],
          'ms',
        ),
      ),
      el(
        'p',
        { class: 'note' },
        'Series kept by this member for the last five minutes; Prometheus metrics are at /metrics.',
      ),
    ];
  }

  const RENDERERS = {
    members: renderMembers,
    services: renderServices,
    locks: renderLocks,
    transactions: renderTransactions,
    traffic: renderTraffic,
  };

  function render() {
    if (!last) return;
    const s = last;
    const now = s.atUnixMs;
    const leader = document.getElementById('leader');
    leader.textContent = s.leader ? s.leader.name : 'none';
    leader.className = s.leader ? '' : 'bad';
    const self = s.members.find((m) => m.self);
    document.getElementById('self').textContent = self ? self.name : s.selfId;
    document.getElementById('revision').textContent = String(s.revision);
    const healthy = s.members.filter((m) => m.healthy).length;
    const h = document.getElementById('healthy');
    h.textContent = `${healthy} / ${s.members.length}`;
    h.className = healthy === s.members.length ? 'ok' : 'bad';
    const section = document.getElementById(`tab-${current}`);
    section.replaceChildren(...RENDERERS[current](s, now).filter(Boolean));
    if (s.truncated) section.append(el('p', { class: 'note' }, 'Some lists are cut to their bound.'));
  }

  function select(tab) {
    current = tab;
    for (const b of document.querySelectorAll('nav button'))
      b.setAttribute('aria-selected', String(b.dataset.tab === tab));
    for (const sec of document.querySelectorAll('main section')) sec.hidden = sec.dataset.section !== tab;
    render();
  }

  for (const b of document.querySelectorAll('nav button'))
    b.addEventListener('click', () => select(b.dataset.tab));

  const conn = document.getElementById('conn');
  const events = new EventSource('/dashboard/events');
  events.onopen = () => {
    conn.textContent = 'live';
    conn.className = 'stat ok';
  };
  events.onerror = () => {
    conn.textContent = 'disconnected, retrying…';
    conn.className = 'stat bad';
  };
  events.onmessage = (e) => {
    last = JSON.parse(e.data);
    render();
  };
})();
