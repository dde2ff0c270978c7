"""The page's only script and style sheet, served as two small static files.

Why inline strings and not files on disk: the firmware is one Python
package; nothing to install, find or build. The script does four things:
presses keys (POST JSON to the API with the CSRF token), submits
``data-json`` forms the same way, applies each handset state the server
pushes over Server-Sent Events (LCD image, softkeys, lamps, calls), and maps
the computer keyboard's digits to the keypad. No polling: the browser's
EventSource reconnects by itself if the connection drops.
"""

from __future__ import annotations

import hashlib

JS = r"""'use strict';
const $ = (s) => document.querySelector(s);
const csrf = () => ($('meta[name=csrf]') || {}).content || '';
function say(text, bad) { const m = $('#msg'); if (m) { m.textContent = text || ''; m.className = bad ? 'error' : ''; } }
async function post(path, body) {
  let r, data = null;
  try {
    r = await fetch(path, {method: 'POST', credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf()}, body: JSON.stringify(body || {})});
    try { data = await r.json(); } catch (e) { data = null; }
  } catch (e) { say('The phone did not answer: ' + e, true); return {ok: false, data: null}; }
  if (!r.ok) say((data && data.error) || (r.status + ' ' + r.statusText), true);
  if (r.status === 401 && path !== '/login') location.href = '/login';
  return {ok: r.ok, data: data};
}
document.addEventListener('click', (ev) => {
  const b = ev.target.closest('button');
  if (!b || (b.form && b.type === 'submit')) return;
  const d = b.dataset;
  if (d.key) post('/api/keys', {keys: d.key});
  else if (d.softkey) post('/api/softkey', {name: d.softkey});
  else if (d.button) post('/api/button', {name: d.button});
  else if (d.hook) post('/api/hook', {state: d.hook});
  else if (d.dial) post('/api/dial', {target: d.dial}).then((r) => { if (r.ok) location.href = '/'; });
  else if (d.post) {
    if (d.confirm && !window.confirm(d.confirm)) return;
    post(d.post, {}).then((r) => {
      if (r.ok && d.next) location.href = d.next;
      else if (r.ok) say((r.data && r.data.message) || 'Done');
    });
  }
});
document.querySelectorAll('form[data-json]').forEach((f) => f.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const body = {};
  new FormData(f).forEach((v, k) => { body[k] = v; });
  f.querySelectorAll('input[type=checkbox]').forEach((c) => { body[c.name] = c.checked; });
  post(f.getAttribute('action'), body).then((r) => {
    if (r.ok && r.data && r.data.next) location.href = r.data.next;
    else if (r.ok) say((r.data && r.data.message) || 'Saved');
  });
}));
function lamp(id, on) { const l = $('#' + id); if (l) l.classList.toggle('on', !!on); }
function cell(text) { const td = document.createElement('td'); td.textContent = text == null ? '' : String(text); return td; }
function render(s) {
  const lcd = $('#lcd');
  lcd.src = 'data:image/png;base64,' + s.png;
  lcd.alt = (s.display || []).join(' / ');
  const keys = $('#softkeys');
  keys.replaceChildren(...(s.softkeys || []).map((n) => {
    const b = document.createElement('button'); b.dataset.softkey = n; b.textContent = n; return b;
  }));
  lamp('ring', s.ringer); lamp('mwi', s.mwi && s.mwi.waiting); lamp('muted', s.muted); lamp('reg', s.registered);
  if (s.mwi && s.mwi.new != null) $('#mwi').textContent = 'Messages: ' + s.mwi.new;
  const hook = $('#hook'); const off = s.hook === 'off';
  hook.dataset.hook = off ? 'on' : 'off'; hook.textContent = off ? 'Hang up' : 'Lift handset';
  const rows = (s.calls || []).map((c) => {
    const tr = document.createElement('tr');
    const codec = c.media ? c.media.codec + (c.encrypted ? ' (SRTP)' : '') : '';
    tr.append(cell(c.line), cell(c.direction), cell(c.remote), cell(c.state), cell(codec));
    return tr;
  });
  $('#calls').replaceChildren(...rows);
  document.body.dataset.state = (s.calls || []).map((c) => c.state).join(' ') || 'idle';
  document.body.dataset.version = s.version;
  if (!performance.getEntriesByName('lcd-shown').length) performance.mark('lcd-shown');
}
if ($('#lcd') && window.EventSource) {
  const es = new EventSource('/events');
  es.onmessage = (ev) => render(JSON.parse(ev.data));
  es.onerror = () => say('Reconnecting to the phone…');
  es.onopen = () => say('');
  document.addEventListener('keydown', (ev) => {
    if (ev.target.closest('input,select,textarea') || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (/^[0-9*#]$/.test(ev.key)) post('/api/keys', {keys: ev.key});
  });
}
"""

CSS = """*{box-sizing:border-box}body{margin:0;font:15px/1.4 system-ui,sans-serif;background:#eef0f2;color:#1d2125}
nav{display:flex;gap:1em;align-items:center;padding:.6em 1em;background:#27323c}
nav a,nav .link{color:#dfe6ec;text-decoration:none;background:none;border:0;font:inherit;cursor:pointer;padding:0}
nav a[aria-current]{color:#fff;font-weight:600}nav .link{margin-left:auto}
main{max-width:60em;margin:1em auto;padding:0 1em}main.narrow{max-width:24em}
table{border-collapse:collapse;width:100%;background:#fff;margin:.4em 0}
th,td{text-align:left;padding:.25em .5em;border-bottom:1px solid #dde2e6;vertical-align:top}
.kv th{width:40%;font-weight:500;color:#46525c}td.secret{color:#8a939b}
button{font:inherit;padding:.35em .8em;border:1px solid #9aa5ae;border-radius:.35em;background:#fff;cursor:pointer}
button:active{background:#cfd6dc}form label{display:block;margin:.5em 0}form.inline label{display:inline-block;margin-right:.5em}
input,select{font:inherit;padding:.25em}.error{color:#a4161a}
.phone{background:#3a444d;border-radius:1em;padding:1em;display:grid;gap:.8em;max-width:46em}
.top{display:flex;gap:.6em}.lcdbox{background:#9fb3a0;padding:.6em;border-radius:.4em}
#lcd{display:block;width:384px;height:192px;max-width:100%;image-rendering:pixelated;background:#c8d6c2}
#softkeys{display:flex;gap:.3em;margin-top:.4em;min-height:2em}#softkeys button{flex:1;padding:.2em}
.linekeys{display:flex;flex-direction:column;gap:.3em}.line.on{border-color:#2f9e44;box-shadow:inset 4px 0 #2f9e44}
.lamps{display:flex;gap:.5em;flex-wrap:wrap}.lamp{color:#aab4bc;font-size:.9em;padding:.1em .5em;border-radius:1em;background:#2c353d}
.lamp.on{color:#fff;background:#c92a2a}#reg.on{background:#2f9e44}
.pad{display:grid;grid-template-columns:auto 1fr;gap:1em;align-items:start}.keypad{display:grid;grid-template-columns:repeat(3,4em);gap:.4em}
.keypad button{height:3em;font-size:1.2em;display:flex;flex-direction:column;align-items:center;line-height:1}
.keypad small{font-size:.5em;color:#6b7780}.fixed{display:flex;flex-direction:column;gap:.6em}.fixed div{display:flex;gap:.3em;flex-wrap:wrap}.fixed button{flex:1 1 auto}
#hook{background:#2f9e44;color:#fff;border:0;padding:.6em}#hook[data-hook=on]{background:#c92a2a}
.actions{display:flex;gap:.5em;margin:.5em 0}.cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(18em,1fr));gap:1em}
pre#log{background:#1d2125;color:#dfe6ec;padding:.6em;max-height:24em;overflow:auto;font-size:.8em;white-space:pre-wrap}
"""

FILES: dict[str, tuple[bytes, str]] = {
    "/static/app.js": (JS.encode(), "text/javascript; charset=utf-8"),
    "/static/app.css": (CSS.encode(), "text/css; charset=utf-8"),
}
#: A version for cache validation (ETag): the content's hash.
ETAGS = {path: '"' + hashlib.sha1(body).hexdigest()[:16] + '"' for path, (body, _t) in FILES.items()}
