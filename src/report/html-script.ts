/**
 * The browser side of the HTML report (html.ts inlines it): reads the embedded SimReport, builds one
 * lane per physical frame the trace or a violation names (violating frames first, then the devices,
 * then the other frames) and draws them on a uPlot chart whose x scale is the trace sequence. uPlot
 * gives the axis, zoom (drag), reset (double-click) and cursor; the lanes' contents are drawn in its
 * draw hook, and the lanes, violation markers and details panel are DOM elements (the tests' hooks:
 * data-testid lane / violation-marker / violation-details).
 *
 * Plain ES2020 for the browser, kept as text: the project's compiler has no DOM library, and this
 * file must not bring one into the Node code. No template literals inside (this is one). All text
 * from the report goes into the page through textContent, never as markup.
 */

export const PAGE_SCRIPT = String.raw`(function () {
'use strict';
var R = JSON.parse(document.getElementById('dmasim-report').textContent);
var S = JSON.parse(document.getElementById('dmasim-schema').textContent);
var events = R.trace.events || [];
var vs = R.violations || [];
var LANE_H = 30, LABEL_W = 158, PAD_TOP = 6, AXIS_H = 28, AXIS_LABEL_H = 16, MAX_FRAME_LANES = 200, MAX_SPAN_FRAMES = 1024;
var RED = '#d0021b';
var DRIVER_COLORS = ['#2f6fb0', '#3d9a50', '#8c6d46', '#9a5fa0', '#3a9ea0', '#b59a1e'];
var DEVICE_COLORS = ['#f08c00', '#7b4fd6', '#0d9fb8', '#9aa100', '#e0569a'];

function hex(n, digits) { var s = (n >>> 0).toString(16).toUpperCase(); while (s.length < (digits || 8)) s = '0' + s; return '0x' + s; }
function el(tag, attrs) {
  var n = document.createElement(tag);
  if (attrs) for (var k in attrs) { if (k === 'class') n.className = attrs[k]; else if (k === 'text') n.textContent = attrs[k]; else n.setAttribute(k, attrs[k]); }
  for (var i = 2; i < arguments.length; i++) { var c = arguments[i]; if (c == null || c === false) continue; n.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c); }
  return n;
}

// x = sequence difference from the first number seen: sequence numbers are Int32 and may wrap.
var base = events.length ? events[0].seq : null;
vs.forEach(function (v) { if (base === null || ((v.seq - base) | 0) < 0) base = v.seq; });
if (base === null) base = 0;
function X(seq) { return (seq - base) | 0; }
function seqOf(x) { return (x + base) | 0; }

// Names: devices by attachment; driver contexts by what names them (a device's driver, a record).
var devByAtt = new Map();
(R.devices || []).forEach(function (d) { devByAtt.set(d.attachment, d); });
vs.forEach(function (v) { if (v.device && !devByAtt.has(v.device.attachment)) devByAtt.set(v.device.attachment, v.device); });
(R.faults || []).forEach(function (f) { if (!devByAtt.has(f.device.attachment)) devByAtt.set(f.device.attachment, Object.assign({ driver: f.driver }, f.device)); });
var vBySeq = new Map(vs.map(function (v) { return [v.seq, v]; }));
var driverNames = new Map();
(R.drivers || []).forEach(function (name, i) { driverNames.set(i, name); });
events.forEach(function (ev) {
  if ((ev.kind === 'dma' || ev.kind === 'doorbell') && devByAtt.has(ev.device)) {
    var d = devByAtt.get(ev.device);
    if (d.driver && !driverNames.has(ev.driver)) driverNames.set(ev.driver, d.driver);
  } else if (ev.kind === 'violation') {
    var v = vBySeq.get(ev.record);
    // An unlock-during-dma record names the unlocker, not the device's driver.
    if (v && v.driver && v.code !== 'unlock-during-dma' && !driverNames.has(ev.driver)) driverNames.set(ev.driver, v.driver);
  }
});
function drv(ctx) {
  if (ctx < 0) return 'the VMM';
  // The simulator's own context (index 0) is the driver it creates first, named "default".
  return driverNames.get(ctx) || (ctx === 0 ? 'default' : 'driver #' + ctx);
}
function devName(att) {
  var d = devByAtt.get(att);
  return d ? d.kind + '#' + d.id + (d.name !== d.kind ? ' (' + d.name + ')' : '') : 'device @' + att;
}
var devIndex = new Map();
function devColor(att) { if (!devIndex.has(att)) devIndex.set(att, devIndex.size); return DEVICE_COLORS[devIndex.get(att) % DEVICE_COLORS.length]; }
function drvColor(ctx) { return ctx < 0 ? '#666' : DRIVER_COLORS[ctx % DRIVER_COLORS.length]; }
(R.devices || []).forEach(function (d) { devColor(d.attachment); });

// Lanes and their items.
var lanes = new Map();
function frameLane(f) {
  var key = 'f' + f, l = lanes.get(key);
  if (!l) { l = { key: key, frame: f, device: null, items: [], vs: [], gaps: [], first: Infinity, page: null }; lanes.set(key, l); }
  return l;
}
function deviceLane(att) {
  var key = 'd' + att, l = lanes.get(key);
  if (!l) { l = { key: key, frame: null, device: att, items: [], vs: [], gaps: [], first: Infinity, page: null }; lanes.set(key, l); }
  return l;
}
var frames = R.memory.frames;
function spanFrames(phys, length, fn) {
  if (!(length > 0)) return;
  var f0 = Math.floor(phys / 4096), f1 = Math.floor((phys + length - 1) / 4096);
  for (var f = f0; f <= f1 && f - f0 < MAX_SPAN_FRAMES; f++) if (f >= 0 && f < frames) fn(f);
}
var open = new Map();
var xmax = 0;
events.forEach(function (ev) {
  var x = X(ev.seq), l, it;
  if (x > xmax) xmax = x;
  switch (ev.kind) {
    case 'lock':
      l = frameLane(ev.frame);
      it = { t: 'lock', x0: x, x1: null, ev: ev, end: null };
      l.items.push(it); open.set(ev.frame, it);
      if (ev.page >= 0) l.page = ev.page;
      break;
    case 'unlock':
    case 'free':
      l = frameLane(ev.frame);
      it = open.get(ev.frame);
      if (it) { it.x1 = x; it.end = ev; open.delete(ev.frame); }
      // An unlock with no lock before it: locked before the trace window began. (A free of an
      // unlocked page ends no lock.)
      else if (ev.kind === 'unlock') l.items.push({ t: 'lock', x0: null, x1: x, ev: null, end: ev });
      l.items.push({ t: ev.kind, x: x, ev: ev });
      if (ev.page >= 0) l.page = ev.page;
      break;
    case 'handout':
    case 'page-out':
    case 'page-discard':
    case 'page-in':
      l = frameLane(ev.frame);
      l.items.push({ t: ev.kind, x: x, ev: ev });
      if (ev.page >= 0) l.page = ev.page;
      break;
    case 'page-move':
      frameLane(ev.frame).items.push({ t: 'move-out', x: x, ev: ev });
      if (ev.to >= 0) { l = frameLane(ev.to); l.items.push({ t: 'move-in', x: x, ev: ev }); l.page = ev.page; }
      break;
    case 'dma':
      deviceLane(ev.device).items.push({ t: 'dma', x: x, ev: ev, write: ev.write, whole: true });
      spanFrames(ev.phys, ev.length, function (f) { frameLane(f).items.push({ t: 'dma', x: x, ev: ev, write: ev.write }); });
      if (ev.spans > 1) spanFrames(ev.phys2, ev.length2, function (f) { frameLane(f).items.push({ t: 'dma', x: x, ev: ev, write: ev.write2 }); });
      break;
    case 'doorbell':
    case 'irq-raise':
    case 'irq-ack':
    case 'device-fault':
      deviceLane(ev.device).items.push({ t: ev.kind, x: x, ev: ev });
      break;
    case 'violation':
      // Counted, not kept in full (beyond maxRecords): a tick without details.
      if (!vBySeq.has(ev.record)) frameLane(ev.frame >= 0 && ev.frame < frames ? ev.frame : -1).items.push({ t: 'vtrace', x: x, ev: ev });
      break;
  }
});
vs.forEach(function (v) {
  var x = X(v.seq);
  if (x > xmax) xmax = x;
  var l = frameLane(v.frame >= 0 ? v.frame : -1);
  l.vs.push(v);
  if (x < l.first) l.first = x;
  if (v.device) deviceLane(v.device.attachment).items.push({ t: 'vdev', x: x, v: v });
  // The stretch the frame spent unlocked before the access: from its last unlock (or free).
  var last = null;
  l.items.forEach(function (it) { if ((it.t === 'unlock' || it.t === 'free') && it.x <= x && (!last || it.x > last.x)) last = it; });
  // It ends at the access, or earlier where the frame was locked again (a stale address: the
  // access lands in someone else's lock).
  var end = x;
  l.items.forEach(function (it) { if (last && it.t === 'lock' && it.x0 !== null && it.x0 > last.x && it.x0 < end) end = it.x0; });
  if (last) l.gaps.push({ x0: last.x, x1: end, v: v, end: last });
});
var XMIN = -1, XMAX = xmax + 1;

var all = Array.from(lanes.values());
var bad = all.filter(function (l) { return l.vs.length > 0; }).sort(function (a, b) { return a.first - b.first || a.frame - b.frame; });
var devs = all.filter(function (l) { return l.device !== null; }).sort(function (a, b) { return a.device - b.device; });
var rest = all.filter(function (l) { return l.device === null && l.vs.length === 0; }).sort(function (a, b) { return a.frame - b.frame; });
// At most MAX_FRAME_LANES frame lanes (a canvas has a height limit): violating frames first.
var frameLanes = bad.concat(rest);
var hidden = Math.max(0, frameLanes.length - MAX_FRAME_LANES);
var shownBad = bad.slice(0, MAX_FRAME_LANES);
var shown = shownBad.concat(devs, rest.slice(0, MAX_FRAME_LANES - shownBad.length));
var N = shown.length;
var note = document.getElementById('lanes-note');
if (hidden > 0) note.textContent = hidden + ' more frames appear in the trace and are not drawn (' + MAX_FRAME_LANES + ' frame lanes are, violating frames first); the list below has every record.';
else if (N === 0) note.textContent = 'Nothing to draw: the trace is empty and there are no violation records.';

function describe(it) {
  var ev = it.ev, p;
  switch (it.t) {
    case 'lock':
      p = it.ev ? 'locked by ' + drv(ev.driver) + ' at seq ' + ev.seq + ' (epoch ' + ev.epoch + (ev.page >= 0 ? ', page ' + hex(ev.page, 5) : '') + ')' : 'locked before the trace window';
      if (it.end) p += it.end.kind === 'free' ? '; freed at seq ' + it.end.seq : '; unlocked by ' + drv(it.end.driver) + ' at seq ' + it.end.seq;
      else p += '; still locked';
      return p;
    case 'unlock': return 'seq ' + ev.seq + ': unlock by ' + drv(ev.driver) + ' (epoch ' + ev.epoch + ')' + (ev.inflight ? ', ' + ev.inflight + ' device access(es) in flight' : '');
    case 'free': return 'seq ' + ev.seq + ': freed by ' + drv(ev.driver) + ' (epoch ' + ev.epoch + ')';
    case 'handout': return 'seq ' + ev.seq + ': address handed out to ' + drv(ev.driver) + ' (epoch ' + ev.epoch + ')';
    case 'move-out': return 'seq ' + ev.seq + ': pager moved page ' + hex(ev.page, 5) + ' to frame ' + hex(ev.to, 5);
    case 'move-in': return 'seq ' + ev.seq + ': pager moved page ' + hex(ev.page, 5) + ' here from frame ' + hex(ev.frame, 5);
    case 'page-out': return 'seq ' + ev.seq + ': pager paged out page ' + hex(ev.page, 5);
    case 'page-discard': return 'seq ' + ev.seq + ': pager discarded clean page ' + hex(ev.page, 5);
    case 'page-in': return 'seq ' + ev.seq + ': page ' + hex(ev.page, 5) + ' made present';
    case 'dma':
      p = 'seq ' + ev.seq + ': DMA by ' + devName(ev.device) + ', command ' + ev.command + ': ' + ev.outcome;
      p += ', ' + ev.bytesRead + ' B read, ' + ev.bytesWritten + ' B written, ' + ev.frames + ' frame(s)';
      p += '; span ' + hex(ev.phys) + '+' + ev.length + (ev.write ? ' (write)' : ' (read)');
      if (ev.spans > 1) p += ', ' + hex(ev.phys2) + '+' + ev.length2 + (ev.write2 ? ' (write)' : ' (read)') + (ev.spans > 2 ? ' … ' + ev.spans + ' spans' : '');
      return p;
    case 'doorbell': return 'seq ' + ev.seq + ': ' + drv(ev.driver) + ' rang the doorbell: command ' + ev.command;
    case 'irq-raise': return 'seq ' + ev.seq + ': interrupt raised (count ' + ev.count + ')';
    case 'irq-ack': return 'seq ' + ev.seq + ': interrupt acknowledged';
    case 'device-fault': return 'seq ' + ev.seq + ': device fault: ' + (S.faultKinds[ev.fault] || ev.fault);
    case 'vtrace': return 'seq ' + ev.seq + ': violation ' + (S.violationCodes[ev.code] || ev.code) + ' (counted, record not kept)';
    case 'vdev': return 'seq ' + it.v.seq + ': violation ' + it.v.code + ' on frame ' + hex(it.v.frame, 5);
  }
  return it.t;
}

// The chart.
var root = document.getElementById('timeline');
var selected = null;
var hits = [];
var laneEls = [];
var markers = [];
var tip = el('div', { class: 'tip' });
tip.hidden = true;

function laneTop(u, i) { return u.valToPos(N - i, 'y'); }

function drawClear(u) {
  var ctx = u.ctx, bb = u.bbox;
  ctx.save();
  for (var i = 0; i < N; i++) {
    var top = u.valToPos(N - i, 'y', true), bot = u.valToPos(N - i - 1, 'y', true);
    var l = shown[i];
    ctx.fillStyle = l.vs.length ? 'rgba(208,2,27,0.07)' : l.device !== null ? '#f3f1ec' : i % 2 ? '#fafafa' : '#ffffff';
    ctx.fillRect(bb.left, top, bb.width, bot - top);
    ctx.fillStyle = '#e2e2e2';
    ctx.fillRect(bb.left, Math.round(bot) - 1, bb.width, 1);
  }
  ctx.restore();
}

function draw(u) {
  var ctx = u.ctx, bb = u.bbox, pr = devicePixelRatio || 1;
  var min = u.scales.x.min, max = u.scales.x.max;
  function px(x) { return u.valToPos(x, 'x', true); }
  var unit = px(1) - px(0);
  hits = [];
  function hit(x0, x1, y0, y1, text, prio) { hits.push({ x0: (x0 - bb.left) / pr, x1: (x1 - bb.left) / pr, y0: (y0 - bb.top) / pr, y1: (y1 - bb.top) / pr, text: text, prio: prio || 0 }); }
  function label(text, x, y, color, align, size) {
    ctx.font = (size || 10) * pr + 'px system-ui, sans-serif';
    ctx.fillStyle = color; ctx.textAlign = align || 'left'; ctx.textBaseline = 'middle';
    ctx.fillText(text, x, y);
  }
  function textW(text, size) { ctx.font = (size || 10) * pr + 'px system-ui, sans-serif'; return ctx.measureText(text).width; }
  ctx.save();
  ctx.beginPath(); ctx.rect(bb.left, bb.top, bb.width, bb.height); ctx.clip();
  for (var i = 0; i < N; i++) {
    var l = shown[i];
    var top = u.valToPos(N - i, 'y', true), bot = u.valToPos(N - i - 1, 'y', true), h = bot - top, mid = top + h / 2;
    var g = Math.min(h * 0.32, 6 * pr);
    // Unlocked, then used: the stretch from the unlock to the violating access.
    l.gaps.forEach(function (gp) {
      var a = px(gp.x0), b = px(gp.x1);
      ctx.save();
      ctx.beginPath(); ctx.rect(a, top + h * 0.18, b - a, h * 0.64); ctx.clip();
      ctx.fillStyle = 'rgba(208,2,27,0.10)'; ctx.fillRect(a, top, b - a, h);
      ctx.strokeStyle = 'rgba(208,2,27,0.45)'; ctx.lineWidth = pr;
      for (var s = a - h; s < b; s += 6 * pr) { ctx.beginPath(); ctx.moveTo(s, bot); ctx.lineTo(s + h, top); ctx.stroke(); }
      ctx.restore();
      var t = 'unlocked';
      if (b - a > textW(t, 10) + 30 * pr) label(t, (a + b) / 2, top + h * 0.5, RED, 'center', 10);
      hit(a, b, top, bot, 'unlocked from seq ' + gp.end.ev.seq + ' (' + gp.end.t + ' by ' + drv(gp.end.ev.driver) + ')' + (gp.x1 === X(gp.v.seq) ? ' until the access at seq ' + gp.v.seq : ' until locked again; the access at seq ' + gp.v.seq + ' used the old address'), 1);
    });
    l.items.forEach(function (it) {
      var x, a, b, c, w;
      if (it.t === 'lock') {
        var x0 = it.x0 === null ? min - 1 : it.x0, x1 = it.x1 === null ? max + 1 : it.x1;
        if (x1 < min || x0 > max) return;
        a = px(x0); b = px(x1);
        var ctxNo = it.ev ? it.ev.driver : it.end.driver;
        c = drvColor(ctxNo);
        ctx.fillStyle = c + '33'; ctx.strokeStyle = c; ctx.lineWidth = 1.5 * pr;
        ctx.fillRect(a, top + h * 0.18, b - a, h * 0.64);
        ctx.strokeRect(a, top + h * 0.18, b - a, h * 0.64);
        var t = 'locked · ' + drv(ctxNo);
        if (b - a > textW(t, 11) + 12 * pr) label(t, Math.max(a, bb.left) + 6 * pr, mid, c, 'left', 11);
        hit(a, b, top, bot, describe(it), 0);
        return;
      }
      x = it.x !== undefined ? it.x : 0;
      if (x < min - 1 || x > max + 1) return;
      c = px(x);
      switch (it.t) {
        case 'unlock':
        case 'free': {
          var dc = it.t === 'free' ? '#222' : drvColor(it.ev.driver);
          ctx.fillStyle = dc; ctx.fillRect(c - 1.5 * pr, top + h * 0.08, 3 * pr, h * 0.84);
          if (it.t === 'free') ctx.fillRect(c - 3 * pr, top + h * 0.08, 6 * pr, 3 * pr);
          if (l.vs.length && unit > 12 * pr) label(it.t, c - 3 * pr, top + h * 0.84, dc, 'right', 9);
          hit(c - 4 * pr, c + 4 * pr, top, bot, describe(it), 2);
          break;
        }
        case 'handout':
          // A diamond on the lane's top edge (a page-out is a triangle).
          ctx.fillStyle = '#37474f'; ctx.strokeStyle = '#fff'; ctx.lineWidth = pr;
          var hy = top + h * 0.18;
          ctx.beginPath(); ctx.moveTo(c, hy - g); ctx.lineTo(c + g * 0.8, hy); ctx.lineTo(c, hy + g); ctx.lineTo(c - g * 0.8, hy); ctx.closePath(); ctx.fill(); ctx.stroke();
          hit(c - g, c + g, top, mid, describe(it), 2);
          break;
        case 'dma': {
          var dcol = devColor(it.ev.device);
          w = Math.max(4 * pr, unit * 0.7);
          a = c - w / 2;
          var y0 = top + h * (it.whole ? 0.2 : 0.26), hh = h * (it.whole ? 0.6 : 0.48);
          // A device lane shows the whole access (solid); a frame lane the span on it (pale: read).
          ctx.fillStyle = dcol + (it.write || it.whole ? 'ff' : '80');
          ctx.fillRect(a, y0, w, hh);
          if (it.ev.outcome !== 'ok') {
            ctx.strokeStyle = RED; ctx.lineWidth = 2 * pr;
            if (it.ev.outcome === 'allowed') ctx.setLineDash([3 * pr, 2 * pr]);
            ctx.strokeRect(a, y0, w, hh);
            ctx.setLineDash([]);
            ctx.beginPath(); ctx.moveTo(a, y0 + hh); ctx.lineTo(a + w, y0); ctx.stroke();
          }
          var dl = (it.write ? 'write' : 'read') + (it.ev.outcome === 'refused' ? ' refused' : '');
          if (l.vs.length && unit > textW(dl, 9) + 10 * pr) label(dl, a + w + 3 * pr, top + h * 0.85, it.ev.outcome === 'ok' ? '#555' : RED, 'left', 9);
          hit(a - 2 * pr, a + w + 2 * pr, top, bot, describe(it), 3);
          break;
        }
        case 'move-out':
        case 'move-in': {
          ctx.strokeStyle = '#00897b'; ctx.fillStyle = '#00897b'; ctx.lineWidth = 2 * pr;
          var dir = it.t === 'move-out' ? 1 : -1, ay = mid + h * 0.05;
          var from = it.t === 'move-out' ? c - g : c + g * 1.2, to = it.t === 'move-out' ? c + g * 1.2 : c - g;
          ctx.beginPath(); ctx.moveTo(from, ay); ctx.lineTo(to, ay); ctx.stroke();
          ctx.beginPath(); ctx.moveTo(to + dir * g * 0.2, ay); ctx.lineTo(to - dir * g * 0.6, ay - g * 0.6); ctx.lineTo(to - dir * g * 0.6, ay + g * 0.6); ctx.closePath(); ctx.fill();
          var ml = it.t === 'move-out' ? '→ ' + hex(it.ev.to, 5) : '← ' + hex(it.ev.frame, 5);
          if (unit > textW(ml, 9) + 14 * pr) label(ml, c + g * 1.6, ay, '#00695c', 'left', 9);
          hit(c - g * 1.5, c + g * 1.5, top, bot, describe(it), 2);
          break;
        }
        case 'page-out':
        case 'page-in':
          ctx.fillStyle = it.t === 'page-out' ? '#6a1b9a' : '#2e7d32';
          ctx.beginPath();
          if (it.t === 'page-out') { ctx.moveTo(c - g, mid - g * 0.7); ctx.lineTo(c + g, mid - g * 0.7); ctx.lineTo(c, mid + g * 0.9); }
          else { ctx.moveTo(c - g, mid + g * 0.7); ctx.lineTo(c + g, mid + g * 0.7); ctx.lineTo(c, mid - g * 0.9); }
          ctx.closePath(); ctx.fill();
          if (unit > textW('out', 9) + 14 * pr) label(it.t === 'page-out' ? 'out' : 'in', c + g + 2 * pr, mid, ctx.fillStyle, 'left', 9);
          hit(c - g, c + g, top, bot, describe(it), 2);
          break;
        case 'page-discard':
          ctx.strokeStyle = '#757575'; ctx.lineWidth = 2 * pr;
          ctx.beginPath(); ctx.moveTo(c - g * 0.7, mid - g * 0.7); ctx.lineTo(c + g * 0.7, mid + g * 0.7); ctx.moveTo(c + g * 0.7, mid - g * 0.7); ctx.lineTo(c - g * 0.7, mid + g * 0.7); ctx.stroke();
          hit(c - g, c + g, top, bot, describe(it), 2);
          break;
        case 'doorbell':
          ctx.fillStyle = '#455a64';
          ctx.fillRect(c - pr, top + h * 0.2, 2 * pr, h * 0.6);
          ctx.beginPath(); ctx.arc(c, top + h * 0.2, g * 0.6, 0, 7); ctx.fill();
          if (unit > textW('cmd ' + it.ev.command, 9) + 10 * pr) label('cmd ' + it.ev.command, c + 4 * pr, top + h * 0.3, '#455a64', 'left', 9);
          hit(c - g, c + g, top, bot, describe(it), 2);
          break;
        case 'irq-raise':
        case 'irq-ack': {
          var up = it.t === 'irq-raise';
          ctx.strokeStyle = '#a66f00'; ctx.fillStyle = '#a66f00'; ctx.lineWidth = 1.5 * pr;
          var ya = up ? top + h * 0.2 : bot - h * 0.2, yb = up ? bot - h * 0.2 : top + h * 0.2;
          ctx.beginPath(); ctx.moveTo(c, yb); ctx.lineTo(c, ya); ctx.stroke();
          ctx.beginPath(); ctx.moveTo(c, ya + (up ? -1 : 1) * pr); ctx.lineTo(c - g * 0.6, ya + (up ? 1 : -1) * g * 0.8); ctx.lineTo(c + g * 0.6, ya + (up ? 1 : -1) * g * 0.8); ctx.closePath();
          if (up) ctx.fill(); else ctx.stroke();
          if (unit > textW('irq', 9) + 10 * pr) label(up ? 'irq' : 'ack', c + 4 * pr, up ? bot - h * 0.3 : top + h * 0.3, '#a66f00', 'left', 9);
          hit(c - g, c + g, top, bot, describe(it), 2);
          break;
        }
        case 'device-fault':
          ctx.strokeStyle = RED; ctx.lineWidth = 3 * pr;
          ctx.beginPath(); ctx.moveTo(c - g, mid - g); ctx.lineTo(c + g, mid + g); ctx.moveTo(c + g, mid - g); ctx.lineTo(c - g, mid + g); ctx.stroke();
          hit(c - g, c + g, top, bot, describe(it), 4);
          break;
        case 'vtrace':
        case 'vdev':
          ctx.fillStyle = RED;
          ctx.beginPath(); ctx.moveTo(c, top + h * 0.12 + g); ctx.lineTo(c - g * 0.7, top + h * 0.12); ctx.lineTo(c + g * 0.7, top + h * 0.12); ctx.closePath(); ctx.fill();
          hit(c - g, c + g, top, mid, describe(it), 3);
          break;
      }
    });
  }
  if (selected !== null) {
    var sx = px(X(selected));
    ctx.strokeStyle = RED; ctx.lineWidth = 1.5 * pr; ctx.setLineDash([5 * pr, 4 * pr]);
    ctx.beginPath(); ctx.moveTo(sx, bb.top); ctx.lineTo(sx, bb.top + bb.height); ctx.stroke();
    ctx.setLineDash([]);
  }
  ctx.restore();
  place(u);
}

function place(u) {
  var min = u.scales.x.min, max = u.scales.x.max, w = u.over.clientWidth;
  laneEls.forEach(function (row, i) {
    row.style.top = laneTop(u, i) + 'px';
    row.style.height = (u.valToPos(N - i - 1, 'y') - laneTop(u, i)) + 'px';
    row.style.width = (w + LABEL_W) + 'px';
  });
  var prev = new Map();
  markers.forEach(function (m) {
    var x = X(m.v.seq), left = u.valToPos(x, 'x');
    m.node.hidden = x < min || x > max;
    m.node.style.left = left + 'px';
    m.node.style.top = ((laneTop(u, m.lane) + u.valToPos(N - m.lane - 1, 'y')) / 2) + 'px';
    // Crowded markers (closer than one marker's width on a lane) shrink; zoom in to part them.
    m.left = left;
    m.crowded = false;
    var p = prev.get(m.lane);
    if (p && left - p.left < 22) { p.crowded = true; m.crowded = true; }
    prev.set(m.lane, m);
  });
  markers.forEach(function (m) { m.node.classList.toggle('crowded', m.crowded); });
}

var incrs = [];
for (var m = 1; m <= 1e9; m *= 10) incrs.push(m, 2 * m, 5 * m);
var u = null;
if (N > 0 && window.uPlot) {
  var width = Math.max(480, root.clientWidth || 900);
  u = new uPlot({
    width: width,
    height: N * LANE_H + PAD_TOP + AXIS_H + AXIS_LABEL_H,
    padding: [PAD_TOP, 14, 0, LABEL_W],
    legend: { show: false },
    cursor: { y: false, points: { show: false }, drag: { x: true, y: false, setScale: true } },
    scales: { x: { time: false, range: function (u, a, b) { return [a, b]; } }, y: { auto: false, range: [0, N] } },
    axes: [
      { scale: 'x', size: AXIS_H, space: 70, incrs: incrs, label: 'trace sequence (virtual time)', labelSize: AXIS_LABEL_H, labelGap: 0, labelFont: '11px system-ui, sans-serif', font: '11px system-ui, sans-serif', stroke: '#444', grid: { stroke: '#ececec', width: 1 }, ticks: { stroke: '#ccc', width: 1, size: 4 }, values: function (u, splits) { return splits.map(function (v) { return String(seqOf(v)); }); } },
      { scale: 'y', show: false },
    ],
    series: [{}, { scale: 'y', stroke: 'transparent', points: { show: false }, paths: function () { return null; } }],
    hooks: {
      drawClear: [drawClear],
      draw: [draw],
      setCursor: [function (u) {
        var l = u.cursor.left, t = u.cursor.top;
        if (l == null || l < 0) { tip.hidden = true; return; }
        var best = null;
        hits.forEach(function (h) { if (l >= h.x0 - 2 && l <= h.x1 + 2 && t >= h.y0 && t <= h.y1 && (!best || h.prio > best.prio || (h.prio === best.prio && Math.abs((h.x0 + h.x1) / 2 - l) < Math.abs((best.x0 + best.x1) / 2 - l)))) best = h; });
        if (!best) { tip.hidden = true; return; }
        tip.textContent = best.text;
        tip.hidden = false;
        var ow = u.over.clientWidth;
        tip.style.left = Math.min(l + 12, Math.max(0, ow - 360)) + 'px';
        tip.style.top = (t + 14) + 'px';
      }],
    },
  }, [[XMIN, XMAX], [null, null]], root);
  shown.forEach(function (l, i) {
    var row = el('div', { class: 'lane' + (l.vs.length ? ' violating' : '') + (l.device !== null ? ' device' : ''), 'data-testid': l.device !== null ? 'device-lane' : 'lane' });
    if (l.device !== null) {
      row.setAttribute('data-device', String(l.device));
      row.appendChild(el('span', { class: 'label' }, el('b', { text: devName(l.device) }), el('small', { text: 'device · ' + ((devByAtt.get(l.device) || {}).driver || '') })));
    } else {
      row.setAttribute('data-frame', String(l.frame));
      row.appendChild(el('span', { class: 'label' }, el('b', { text: l.frame >= 0 ? 'frame ' + hex(l.frame, 5) : 'outside RAM' }),
        el('small', { text: [l.vs.length ? l.vs.length + ' violation' + (l.vs.length > 1 ? 's' : '') : '', l.page !== null ? 'page ' + hex(l.page, 5) : ''].filter(Boolean).join(' · ') })));
    }
    row.style.left = -LABEL_W + 'px';
    laneEls.push(row);
    u.over.appendChild(row);
    l.vs.forEach(function (v) {
      var a = el('a', { class: 'vmark', href: '#violation-' + v.seq, 'data-testid': 'violation-marker', 'data-seq': String(v.seq), title: v.code + ' at seq ' + v.seq + ' (click for details)' }, '!');
      a.addEventListener('mousedown', function (e) { e.stopPropagation(); });
      a.addEventListener('click', function (e) { e.preventDefault(); choose(v.seq); });
      markers.push({ node: a, v: v, lane: i });
      u.over.appendChild(a);
    });
  });
  u.over.appendChild(tip);
  place(u);
  window.addEventListener('resize', function () { u.setSize({ width: Math.max(480, root.clientWidth), height: N * LANE_H + PAD_TOP + AXIS_H + AXIS_LABEL_H }); });
}

// The details panel.
var STACKS = [['handout', 'Handed out by'], ['lock', 'Locked by'], ['unlock', 'Unlocked by'], ['relock', 'Locked again (current owner) by'], ['programmed', 'Device programmed by']];
function epochText(e) { return e + (e % 2 ? ' (locked)' : ' (not locked)'); }
function details(v) {
  var panel = document.getElementById('violation-details');
  panel.replaceChildren();
  var who = v.device ? v.device.kind + '#' + v.device.id + (v.device.name !== v.device.kind ? ' (' + v.device.name + ')' : '') + ', attachment ' + v.device.attachment : 'the VMM';
  panel.appendChild(el('h3', null, el('span', { class: 'code', text: v.code }), ' ', el('span', { class: 'seq', text: 'seq ' + v.seq }), ' ', el('span', { class: 'outcome ' + v.outcome, text: v.outcome })));
  panel.appendChild(el('p', { class: 'message', text: v.message }));
  var rows = [
    ['device', who],
    ['driver', v.driver || '—'],
    ['access', v.access ? v.access.direction + ' of ' + v.access.length + ' B at ' + hex(v.access.start) + ', command ' + v.access.command : '—'],
    ['first bad byte', hex(v.physAddr) + (v.frame >= 0 ? ', frame ' + hex(v.frame, 5) : ', outside RAM')],
    ['linear page', v.linearPage !== null ? hex(v.linearPage, 5) + ' (' + hex(v.linearPage * 4096) + ')' : '—'],
    ['epoch seen', epochText(v.epochSeen)],
    ['handed out at epoch', v.epochExpected === null ? 'never' : String(v.epochExpected)],
  ];
  Object.keys(v.detail).forEach(function (k) { rows.push([k, String(v.detail[k])]); });
  var dl = el('dl', { class: 'facts' });
  rows.forEach(function (r) { dl.appendChild(el('dt', { text: r[0] })); dl.appendChild(el('dd', { text: r[1] })); });
  panel.appendChild(dl);
  STACKS.forEach(function (s) {
    var st = v.stacks[s[0]];
    if (!st || !st.length) return;
    panel.appendChild(el('h4', { text: s[1] }));
    panel.appendChild(el('pre', { class: 'stack', 'data-stack': s[0], text: st.join('\n') }));
  });
  if (v.frames.length) {
    panel.appendChild(el('h4', { text: 'Frame states around the address (when the record was made)' }));
    var tb = el('table', { class: 'fmap' }, el('tr', null, el('th', { text: 'frame' }), el('th', { text: 'state' }), el('th', { text: 'lock' }), el('th', { text: 'epoch' }), el('th', { text: 'page' })));
    v.frames.forEach(function (f) {
      tb.appendChild(el('tr', { class: f.frame === v.frame ? 'this ' + f.state : f.state }, el('td', { text: (f.frame === v.frame ? '▶ ' : '') + hex(f.frame, 5) }), el('td', { text: f.state }), el('td', { text: String(f.lockCount) }), el('td', { text: String(f.epoch) }), el('td', { text: f.page !== null ? hex(f.page, 5) : '—' })));
    });
    panel.appendChild(tb);
  }
  var lane = lanes.get('f' + (v.frame >= 0 ? v.frame : -1));
  if (lane && lane.items.length) {
    panel.appendChild(el('h4', { text: 'This frame in the trace' }));
    var ol = el('ol', { class: 'history' });
    var x = X(v.seq), mark = false;
    var all = lane.items.filter(function (it) { return it.t !== 'lock'; }).slice().sort(function (a, b) { return a.x - b.x; });
    // The events just before and after the record: what led to it.
    var at = all.filter(function (it) { return it.x <= x; }).length;
    var from = Math.max(0, at - 12), to = Math.min(all.length, at + 4);
    var list = all.slice(from, to);
    if (from > 0) ol.appendChild(el('li', { class: 'more', text: '… ' + from + ' earlier event' + (from > 1 ? 's' : '') + ' on this frame' }));
    list.forEach(function (it) {
      if (!mark && it.x > x) { ol.appendChild(el('li', { class: 'here', text: 'seq ' + v.seq + ': ' + v.code + ' (this record)' })); mark = true; }
      ol.appendChild(el('li', { text: describe(it) }));
    });
    if (!mark) ol.appendChild(el('li', { class: 'here', text: 'seq ' + v.seq + ': ' + v.code + ' (this record)' }));
    if (to < all.length) ol.appendChild(el('li', { class: 'more', text: '… ' + (all.length - to) + ' later event' + (all.length - to > 1 ? 's' : '') }));
    panel.appendChild(ol);
  }
  var raw = el('details', null, el('summary', { text: 'record as JSON' }), el('pre', { class: 'json', text: JSON.stringify(v, null, 2) }));
  panel.appendChild(raw);
  panel.hidden = false;
}

function choose(seq) {
  if (!vBySeq.has(seq)) return;
  history.replaceState(null, '', '#violation-' + seq);
  select(seq);
}
function select(seq) {
  var v = vBySeq.get(seq);
  if (!v) return;
  selected = seq;
  details(v);
  markers.forEach(function (m) { m.node.classList.toggle('selected', m.v.seq === seq); });
  laneEls.forEach(function (row, i) { row.classList.toggle('selected', shown[i].vs.indexOf(v) >= 0); });
  document.querySelectorAll('[data-testid="violation-item"]').forEach(function (a) { a.classList.toggle('selected', Number(a.getAttribute('data-seq')) === seq); });
  if (u) {
    var x = X(seq), min = u.scales.x.min, max = u.scales.x.max;
    // Too many events per pixel to read what led to the record: zoom to the events before it.
    if (u.over.clientWidth / (max - min) < 4) u.setScale('x', { min: Math.max(XMIN, x - 150), max: Math.min(XMAX, x + 50) });
    else if (x < min || x > max) u.setScale('x', { min: XMIN, max: XMAX });
    else u.redraw(false, false);
  }
}
document.querySelectorAll('[data-testid="violation-item"]').forEach(function (a) {
  a.addEventListener('click', function (e) { e.preventDefault(); choose(Number(a.getAttribute('data-seq'))); });
});
function fromHash() { var m = /^#violation-(-?\d+)$/.exec(location.hash); if (m) select(Number(m[1])); }
window.addEventListener('hashchange', fromHash);
fromHash();
})();
`;

export const PAGE_STYLE = `
:root { --red: #d0021b; --ink: #1d1d1f; --muted: #666; }
* { box-sizing: border-box; }
body { margin: 0; padding: 14px 18px 40px; font: 13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fff; }
h1 { font-size: 19px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 14px 0 6px; }
h2 .hint { font-weight: normal; }
.hint { color: var(--muted); font-size: 12px; }
.meta { margin: 2px 0; color: #333; }
.opt { font-family: ui-monospace, monospace; font-size: 12px; background: #f4f4f4; padding: 0 4px; border-radius: 3px; }
.opt .k { color: var(--muted); }
.total { font-size: 13px; padding: 2px 8px; border-radius: 10px; vertical-align: middle; color: #fff; }
.total.bad { background: var(--red); } .total.ok { background: #2e7d32; } .total.warn { background: #b26a00; }
.counts { margin: 6px 0 0; }
.chip { display: inline-block; margin: 0 6px 4px 0; padding: 1px 8px; border-radius: 10px; font-family: ui-monospace, monospace; font-size: 12px; }
.chip.bad { background: #fde7ea; color: #9b0015; border: 1px solid #f4b4bd; }
.chip.ok { background: #e8f5e9; color: #1b5e20; border: 1px solid #b7dfb9; }
.chip.warn { background: #fff3e0; color: #8a4b00; border: 1px solid #f3c98b; }
.chip.plain { background: #f4f4f4; color: #444; border: 1px solid #ddd; }
.warnings { margin: 6px 0; padding-left: 18px; color: #8a4b00; }
.box { margin: 8px 0; border: 1px solid #ddd; border-radius: 4px; padding: 4px 8px; }
.box summary { cursor: pointer; font-weight: 600; }
table { border-collapse: collapse; font-size: 12px; }
th, td { text-align: left; padding: 2px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
pre { margin: 2px 0 6px; padding: 6px 8px; background: #f6f6f6; border-radius: 3px; font: 11.5px/1.4 ui-monospace, Menlo, Consolas, monospace; white-space: pre-wrap; word-break: break-all; }
.code { font-family: ui-monospace, monospace; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 0 0 6px; color: #444; font-size: 12px; }
.lg { display: inline-flex; align-items: center; gap: 5px; }
.sw { display: inline-block; width: 16px; height: 10px; border-radius: 2px; }
.sw.lock { background: #2f6fb033; border: 1.5px solid #2f6fb0; }
.sw.gap { background: repeating-linear-gradient(45deg, #fbe3e6 0 3px, #eb9aa5 3px 4px); }
.sw.dma { background: linear-gradient(90deg, #f08c00 50%, #f08c0080 50%); }
.sw.refused { background: #f08c0080; border: 2px solid var(--red); }
.sw.handout { width: 8px; height: 8px; margin: 0 3px; background: #37474f; transform: rotate(45deg); border-radius: 0; }
.sw.pager { background: #00897b; height: 3px; }
.sw.irq { background: #a66f00; width: 3px; height: 12px; }
.sw.violation { width: 12px; height: 12px; border-radius: 50%; background: var(--red); }
#timeline { position: relative; width: 100%; min-height: 40px; }
.lane { position: absolute; pointer-events: none; border-top: 1px solid transparent; }
.lane .label { position: absolute; left: 0; top: 0; bottom: 0; width: 150px; padding: 1px 6px 0 8px; display: flex; flex-direction: column; justify-content: center; line-height: 1.15; pointer-events: auto; border-left: 4px solid transparent; overflow: hidden; white-space: nowrap; }
.lane .label b { font-size: 12px; font-weight: 600; font-family: ui-monospace, monospace; }
.lane .label small { font-size: 10px; color: var(--muted); }
.lane.device .label b { font-family: inherit; }
.lane.violating .label { border-left-color: var(--red); background: #fde7ea; }
.lane.violating .label b { color: var(--red); }
.lane.violating .label small { color: #9b0015; }
.lane.selected { outline: 2px solid var(--red); outline-offset: -2px; }
.vmark { position: absolute; width: 20px; height: 20px; margin: -10px 0 0 -10px; border-radius: 50%; background: var(--red); color: #fff; font: bold 13px/20px system-ui, sans-serif; text-align: center; text-decoration: none; box-shadow: 0 0 0 2px #fff, 0 1px 4px rgba(0,0,0,.5); z-index: 3; cursor: pointer; }
.vmark.crowded { width: 10px; height: 10px; margin: -5px 0 0 -5px; font-size: 0; box-shadow: 0 0 0 1px #fff; }
.vmark.crowded.selected { z-index: 4; }
.vmark:hover, .vmark.selected { box-shadow: 0 0 0 3px #fff, 0 0 0 5px var(--red), 0 1px 6px rgba(0,0,0,.5); }
.tip { position: absolute; z-index: 5; max-width: 360px; padding: 4px 8px; background: rgba(33,33,33,.92); color: #fff; border-radius: 4px; font-size: 12px; pointer-events: none; }
.bottom { display: grid; grid-template-columns: minmax(260px, 38%) 1fr; gap: 18px; align-items: start; }
.vlist { margin: 0; padding-left: 0; list-style: none; }
.vlist a { display: block; padding: 3px 6px; border-radius: 3px; color: inherit; text-decoration: none; border-left: 3px solid var(--red); margin-bottom: 3px; background: #fff6f7; font-size: 12px; }
.vlist a:hover { background: #fde7ea; }
.vlist a.selected { background: #fbd3d9; font-weight: 600; }
.vlist .seq { font-family: ui-monospace, monospace; color: var(--muted); }
.vlist .code { color: var(--red); }
#violation-details { border: 1px solid #f0b8c0; border-top: 4px solid var(--red); border-radius: 4px; padding: 8px 12px; margin-top: 14px; }
#violation-details h3 { margin: 0 0 4px; font-size: 15px; }
#violation-details h3 .code { color: var(--red); }
#violation-details h3 .seq { color: var(--muted); font-weight: normal; font-size: 13px; }
#violation-details h4 { margin: 10px 0 2px; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: #444; }
.outcome { font-size: 11px; padding: 1px 6px; border-radius: 8px; background: #eee; vertical-align: middle; }
.outcome.blocked { background: #e8f5e9; color: #1b5e20; } .outcome.allowed { background: #fde7ea; color: #9b0015; }
.message { margin: 2px 0 8px; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 1px 12px; margin: 0; font-size: 12px; }
.facts dt { color: var(--muted); } .facts dd { margin: 0; font-family: ui-monospace, monospace; }
.fmap tr.this td { font-weight: 600; background: #fde7ea; }
.history { margin: 2px 0; padding-left: 20px; font-size: 12px; }
.history li.here { color: var(--red); font-weight: 600; }
.history li.more { list-style: none; color: var(--muted); }
.list-box .vlist { max-height: 70vh; overflow: auto; }
#violation-details { position: sticky; top: 8px; max-height: calc(100vh - 16px); overflow: auto; }
.none { color: var(--muted); }
`;
