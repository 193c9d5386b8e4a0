(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('report-data').textContent);
  var S = D.s, rows = D.rows, open = {}, state = {q: '', verdict: '', code: null, sort: null, asc: true, page: 0};
  var body = document.querySelector('#hosts tbody');
  rows.forEach(function (r, i) { r.i = i; if (r.op) { open[r.h] = true; } });

  function s(i) { return i === undefined || i === null || i < 0 ? null : S[i]; }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }
  function add(parent, child) { parent.appendChild(child); return child; }
  function badge(v) { return el('span', 'badge ' + v, D.labels[v] || v); }
  function kbAnchor(section) {
    var w = String(section || '').split(' ')[0].toLowerCase();
    return ['symptoms', 'cause', 'resolution'].indexOf(w) >= 0 ? w : null;
  }

  function matches(r) {
    if (state.verdict && r.v !== state.verdict) { return false; }
    if (state.code !== null && r.k.map(s).indexOf(state.code) < 0) { return false; }
    if (!state.q) { return true; }
    var text = [r.h, s(r.o), s(r.x), s(r.xc), s(r.p), s(r.ph)].concat(r.k.map(s), r.g.map(s), r.cf.map(s)).join(' ').toLowerCase();
    return text.indexOf(state.q) >= 0;
  }
  function compare(a, b) {
    var k = state.sort, c;
    if (k === 'h') { c = a.h.localeCompare(b.h, undefined, {numeric: true}); } else { c = a[k] - b[k]; }
    return (state.asc ? c : -c) || a.i - b.i;
  }

  function findingList(list) {
    var ul = el('ul');
    list.forEach(function (f) {
      var li = add(ul, el('li'));
      add(li, el('span', 'sev ' + s(f[0]), s(f[0])));
      add(li, el('code', null, s(f[1])));
      li.appendChild(document.createTextNode(' ' + (s(f[2]) || '')));
      if (f[5] >= 0) { add(li, el('span', 'waiver' + (f[6] ? ' expired' : ''), s(f[5]))); }
      var section = s(f[3]);
      if (section) {
        var kb = add(li, el('span', 'kb'));
        var anchor = kbAnchor(section);
        if (D.docs) {
          var a = add(kb, el('a', null, 'KB Q222553 \u00a7 ' + section));
          a.href = D.docs + (anchor ? '#' + anchor : '');
        } else { kb.textContent = 'KB Q222553 \u00a7 ' + section; }
        if (f[4] >= 0) { kb.appendChild(document.createTextNode(' \u201c' + s(f[4]) + '\u201d')); }
      }
    });
    return ul;
  }

  // The greeting as read (text only), and whether it names the expected software.
  function greeting(text, note, m) {
    var span = el('span', 'greeting');
    if (text >= 0) { add(span, el('code', null, s(text))); }
    if (note >= 0) { add(span, el('small', m === 0 ? 'err' : 'muted', s(note))); }
    return span;
  }

  function portTable(list) {
    var wrap = el('div', 'scroll'), t = add(wrap, el('table', 'ports')), hr = add(add(t, el('thead')), el('tr'));
    var heads = ['Port', 'Expected owner', 'Actual owner', 'Verdict', 'SMTP greeting'];
    heads.forEach(function (h) { add(hr, el('th', null, h)); });
    var tb = add(t, el('tbody'));
    list.forEach(function (p) {
      var tr = add(tb, el('tr', p[10] ? 'attention' : null));
      function cell(i, cls, content) {
        var td = add(tr, el('td', cls));
        td.setAttribute('data-label', heads[i]);
        if (content && content.nodeType) { td.appendChild(content); } else { td.textContent = content; }
        return td;
      }
      cell(0, 'port', s(p[0]));
      cell(1, null, s(p[1]));
      cell(2, null, s(p[2]));
      var v = cell(3, 'verdict', el('span', 'pv ' + p[3], s(p[4])));
      if (p[5] >= 0) { add(v, el('small', 'muted', s(p[5]))); }
      if (p[6] >= 0) { add(v, el('small', 'muted', 'before: ' + s(p[6]))); }
      cell(4, 'wrap', p[7] >= 0 || p[8] >= 0 ? greeting(p[7], p[8], p[9]) : '-');
    });
    return wrap;
  }

  function details(r) {
    var d = r.d, box = el('div', 'detail');
    if (r.v === 'failed' && s(r.x)) {
      var p = add(box, el('p', 'cause'));
      add(p, el('b', 'err', s(r.x)));
      if (s(r.xc)) { add(p, el('span', 'muted', ' \u2014 while: ' + s(r.xc))); }
    }
    var line = add(box, el('p'));
    line.appendChild(document.createTextNode('Before '));
    add(line, badge(d.bv === 'unknown' ? 'unknown' : d.bv));
    line.appendChild(document.createTextNode(D.check ? ' \u2192 after (check mode: nothing changed) ' : ' \u2192 after '));
    add(line, badge(d.av));
    line.appendChild(document.createTextNode(' \u00b7 profile ' + (s(r.p) || '-')));
    if (s(r.ph)) {
      add(box, el('p', null, 'Port host: ' + s(r.ph) + ' \u2014 the mail service\u2019s port is bound there (KB Q222553\u2019s proxy server); '
        + 'ports, findings and actions on it name it.'));
    }
    if (d.pt.length) {
      add(box, el('h4', null, 'Ports'));
      add(box, portTable(d.pt));
    } else {
      add(box, el('p', null, 'Port 25 owner before: ' + s(d.ob) + (s(d.oa) !== s(d.ob) ? ' \u00b7 after: ' + s(d.oa) : '')));
      if (d.gr) {
        var gp = add(box, el('p', null, 'SMTP greeting: '));
        gp.appendChild(greeting(d.gr[0], d.gr[1], d.gr[2]));
      }
    }
    d.g.forEach(function (g) {
      var f = add(box, el('div', g[3] ? 'flag' : 'flag note'));
      add(f, el('b', null, s(g[0]) + (g[3] ? '' : ' (note)')));
      f.appendChild(document.createTextNode(' ' + (s(g[1]) || '')));
      if (s(g[2])) { add(f, el('div', 'muted', 'Advice: ' + s(g[2]))); }
    });
    if (d.fb) { add(box, el('h4', null, 'Findings before the run')); add(box, findingList(d.fb)); }
    add(box, el('h4', null, d.fb ? 'Findings after the run' : 'Findings'));
    if (d.f.length) { add(box, findingList(d.f)); } else { add(box, el('p', 'muted', d.av === 'unknown' ? 'Not recorded.' : 'None.')); }
    add(box, el('h4', null, D.check ? 'Actions (predicted, check mode: none was made)' : 'Actions'));
    if (d.a.length) {
      var wrap = add(box, el('div', 'scroll')), t = add(wrap, el('table', 'actions')), hr = add(add(t, el('thead')), el('tr'));
      var ah = ['Action', 'Service', 'Before (state/start mode)', 'After', 'Result'];
      ah.forEach(function (h) { add(hr, el('th', null, h)); });
      var tb = add(t, el('tbody'));
      d.a.forEach(function (a) {
        var tr = add(tb, el('tr'));
        a.forEach(function (c, i) { add(tr, el('td', null, s(c))).setAttribute('data-label', ah[i]); });
      });
    } else { add(box, el('p', 'muted', 'None.')); }
    var meta = [];
    if (d.t) { meta.push('recorded ' + d.t); }
    if (d.du !== null && d.du !== undefined) { meta.push('took ' + d.du + ' s'); }
    if (s(d.pc)) { meta.push('from piece ' + s(d.pc)); }
    if (d.sm) { meta.push('summary record (job artifact): messages and actions are in the piece\u2019s JSON file'); }
    if (meta.length) { add(box, el('p', 'muted', meta.join(' \u00b7 '))); }
    return box;
  }

  function row(r) {
    var tr = el('tr', 'row' + (open[r.h] ? ' open' : ''));
    tr.tabIndex = 0;
    tr.setAttribute('aria-expanded', open[r.h] ? 'true' : 'false');
    function cell(label, cls, content) {
      var td = add(tr, el('td', cls));
      td.setAttribute('data-label', label);
      if (content && content.nodeType) { td.appendChild(content); } else { td.textContent = content === null || content === undefined ? '-' : content; }
      return td;
    }
    var hc = cell('Host', 'host', r.h);
    if (s(r.ph)) { add(hc, el('small', 'ph', 'port host ' + s(r.ph))); }
    cell('Verdict', null, badge(r.v));
    var cause = cell('Cause', 'cause', s(r.x));
    if (r.v === 'failed') { cause.className = 'cause err'; }
    var oc = cell('Owner', null, s(r.o));
    r.cf.forEach(function (c) { add(oc, el('small', 'err', 'Conflict on ' + s(c))); });
    cell(D.check ? 'To change' : 'Changes', 'num', r.cl);
    cell('Flags', null, r.g.length ? r.g.map(s).join(', ') : '-');
    function toggle() { open[r.h] = !open[r.h]; render(); }
    tr.addEventListener('click', toggle);
    tr.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); toggle(); } });
    return tr;
  }

  function render() {
    var list = rows.filter(matches);
    if (state.sort) { list = list.slice().sort(compare); }
    var pages = Math.max(1, Math.ceil(list.length / D.page));
    state.page = Math.min(state.page, pages - 1);
    var start = state.page * D.page, shown = list.slice(start, start + D.page);
    var frag = document.createDocumentFragment();
    shown.forEach(function (r) {
      frag.appendChild(row(r));
      if (open[r.h]) {
        var tr = el('tr', 'details'), td = add(tr, el('td'));
        td.colSpan = 6;
        td.appendChild(details(r));
        frag.appendChild(tr);
      }
    });
    while (body.firstChild) { body.removeChild(body.firstChild); }
    body.appendChild(frag);
    document.getElementById('count').textContent = list.length === rows.length
      ? rows.length + ' hosts' : list.length + ' of ' + rows.length + ' hosts';
    document.getElementById('pager').hidden = pages < 2;
    document.getElementById('page').textContent = 'page ' + (state.page + 1) + ' of ' + pages;
    document.getElementById('prev').disabled = state.page === 0;
    document.getElementById('next').disabled = state.page >= pages - 1;
  }

  document.getElementById('controls').hidden = false;
  document.getElementById('q').addEventListener('input', function (e) { state.q = e.target.value.toLowerCase(); state.page = 0; render(); });
  document.getElementById('verdict').addEventListener('change', function (e) { state.verdict = e.target.value; state.page = 0; render(); });
  document.getElementById('prev').addEventListener('click', function () { state.page -= 1; render(); });
  document.getElementById('next').addEventListener('click', function () { state.page += 1; render(); });
  function setCode(code) {
    state.code = code; state.page = 0;
    document.getElementById('code-filter').hidden = code === null;
    document.getElementById('code-name').textContent = code || '';
    render();
  }
  document.getElementById('code-clear').addEventListener('click', function () { setCode(null); });
  Array.prototype.forEach.call(document.querySelectorAll('button[data-code]'), function (b) {
    b.hidden = false;
    b.addEventListener('click', function () {
      setCode(b.getAttribute('data-code'));
      document.getElementById('h-hosts').scrollIntoView();
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll('#hosts th button'), function (b) {
    b.addEventListener('click', function () {
      var key = b.getAttribute('data-sort');
      state.asc = state.sort === key ? !state.asc : true;
      state.sort = key;
      Array.prototype.forEach.call(document.querySelectorAll('#hosts th'), function (th) { th.removeAttribute('aria-sort'); });
      b.parentNode.setAttribute('aria-sort', state.asc ? 'ascending' : 'descending');
      render();
    });
  });
  render();
}());
