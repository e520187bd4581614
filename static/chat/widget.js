/* Orbit widget, inside the iframe (/widget/<key>/ on the tenant's host). No framework.
 * The visitor token lives in localStorage per inbox, so history survives page loads. Where
 * the browser denies storage to this third-party iframe (Chrome incognito, strict modes), the
 * loader keeps it in the customer page's own localStorage for us, through postMessage.
 * Like the inbox, it never trusts delivery: resume after the last seq on every (re)connect
 * and on a seq gap, draw each message id once, resend unacked sends with the same client_id. */
(function () {
  "use strict";
  var C = JSON.parse(document.getElementById("w-config").textContent);
  var T = C.i18n, S = C.settings;
  var $ = function (id) { return document.getElementById(id); };
  var log = $("w-log"), body = $("w-body"), form = $("w-form"), pre = $("w-prechat");
  var LS = "orbit.widget." + C.key;
  var token = null, conv = null, lastSeq = 0, readSeq = 0, seen = {}, outbox = {}, ws = null, backoff = 500;
  var isOpen = false, unread = 0, resuming = false, starting = null, agentTyping = null, knownEmail = false;
  var local = (function () { try { localStorage.setItem(LS + ".x", "1"); localStorage.removeItem(LS + ".x"); return localStorage; } catch (e) { return null; } })();
  var mem = {};
  function get(k) { return local ? local.getItem(k) : mem[k] || null; }
  function put(k, v) {
    if (local) { try { if (v == null) local.removeItem(k); else local.setItem(k, v); } catch (e) { /* full */ } return; }
    if (v == null) delete mem[k]; else mem[k] = String(v);
    parent({ orbit: "store", data: mem });
  }
  function store(t) { token = t; put(LS, t); }
  // The conversation too: a resolved one is not "current" for the session endpoint, but its history stays visible.
  function setConv(id) {
    if (id === conv) return;
    if (conv) { lastSeq = readSeq = 0; Array.prototype.forEach.call(log.querySelectorAll(".m[data-seq]"), function (m) { m.remove(); }); }
    conv = id;
    put(LS + ".c", id);
  }
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; }
  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16)); b[6] = b[6] & 15 | 64; b[8] = b[8] & 63 | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function parent(msg) { if (window.parent !== window) window.parent.postMessage(msg, "*"); } // only UI signals, no data
  function status(t) { $("w-status").textContent = t || ""; }

  // --- session & socket ------------------------------------------------------------------

  function session(extra) {
    var data = extra || {};
    if (token) data.token = token;
    return fetch(C.sessionUrl, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data) })
      .then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error((j.error && j.error.message) || T.error); return j; }); })
      .then(function (j) {
        store(j.token);
        if (j.conversation) setConv(j.conversation.id);
        S = j.inbox || S;
        knownEmail = !!(j.contact && j.contact.email);
        availability();
        pre.hidden = true; form.hidden = false;
        connect();
        return j;
      });
  }
  function ensureSession(extra) {
    if (!starting) starting = session(extra).catch(function (e) { starting = null; throw e; });
    return starting;
  }
  function connect() {
    if (ws && ws.readyState < 2) return;
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + C.socketPath + "?token=" + encodeURIComponent(token));
    ws.onopen = function () {
      backoff = 500; status(""); resuming = false;
      if (conv) resume();
      Object.keys(outbox).forEach(function (k) { send(outbox[k]); });
    };
    ws.onmessage = function (e) { var f; try { f = JSON.parse(e.data); } catch (x) { return; } handle(f); };
    ws.onclose = function (e) {
      if (e.code === 4001 || e.code === 4003) { // token refused (another inbox, expired): start over
        put(LS, null); put(LS + ".c", null);
        token = null; starting = null; conv = null; return;
      }
      status(T.reconnecting);
      setTimeout(connect, backoff); backoff = Math.min(backoff * 2, 10000);
    };
  }
  function send(f) { if (ws && ws.readyState === 1) { ws.send(JSON.stringify(f)); return true; } return false; }
  function resume() { if (!resuming && conv) resuming = send({ type: "resume", conversation: conv, after_seq: lastSeq }); }

  // --- drawing -----------------------------------------------------------------------------

  function att(a) {
    if (a.kind === "image") { // the preview and its name, one link
      var l = el("a", "m-image"); l.href = a.url; l.target = "_blank"; l.rel = "noopener";
      var i = el("img"); i.src = a.url; i.alt = ""; l.appendChild(i); // the name beside it says it
      l.appendChild(el("span", "m-name", a.name || T.file));
      return l;
    }
    if (a.kind === "audio") { var au = el("audio"); au.controls = true; au.src = a.url; return au; }
    var d = el("a", "m-file", a.name || T.file); d.href = a.url; d.setAttribute("download", a.name || ""); return d;
  }
  function draw(f, pending) {
    var mine = f.sender && f.sender.type === "contact";
    var li = el("li", "m " + (mine ? "m-me" : f.sender && f.sender.type === "system" ? "m-sys" : "m-agent") + (pending ? " is-pending" : ""));
    li.dataset.cid = f.client_id;
    if (f.id) { li.dataset.id = f.id; li.dataset.seq = f.seq; }
    if (!mine && f.sender && f.sender.name) li.appendChild(el("div", "m-who", f.sender.name));
    if (f.body) li.appendChild(el("div", "m-body", f.body));
    (f.attachments || []).forEach(function (a) { li.appendChild(att(a)); });
    li.appendChild(el("div", "m-state", pending ? "…" : ""));
    return li;
  }
  function place(li, seq) {
    var items = log.querySelectorAll(".m[data-seq]"), before = null;
    for (var i = items.length - 1; i >= 0 && +items[i].dataset.seq > seq; i--) before = items[i];
    log.insertBefore(li, before || log.querySelector(".m.is-pending"));
    log.scrollTop = log.scrollHeight;
  }
  function onNew(f) {
    setConv(f.conversation);
    if (seen[f.id]) return;
    seen[f.id] = true;
    var old = log.querySelector('.m[data-cid="' + f.client_id + '"]');
    if (old) old.remove();
    place(draw(f, false), f.seq);
    if (f.seq > lastSeq + 1) resume(); else lastSeq = Math.max(lastSeq, f.seq);
    if (f.sender && f.sender.type !== "contact") {
      $("w-typing").textContent = "";
      // Unread = agent messages past what this visitor last read (kept across page loads).
      if (!isOpen || document.hidden) { if (f.seq > readSeq) { unread++; parent({ orbit: "unread", n: unread }); } } else markRead();
    }
  }
  var told = false;
  function onAck(f) {
    delete outbox[f.client_id];
    setConv(f.conversation);
    var li = log.querySelector('.m[data-cid="' + f.client_id + '"]');
    if (li && !seen[f.id]) {
      seen[f.id] = true; li.classList.remove("is-pending", "is-failed");
      li.dataset.id = f.id; li.dataset.seq = f.seq; li.querySelector(".m-state").textContent = "";
      li.remove(); place(li, f.seq);
    }
    if (f.seq > lastSeq + 1) resume(); else lastSeq = Math.max(lastSeq, f.seq);
    if (!told && (!S.open || !S.agents_online)) { // offline: say it was kept for later, once
      told = true; var n = el("li", "m m-sys"); n.appendChild(el("div", "m-body", T.left_message)); log.appendChild(n);
    }
  }
  function markRead() {
    if (!conv || !lastSeq) return;
    send({ type: "read", conversation: conv, seq: lastSeq });
    if (lastSeq > readSeq) { readSeq = lastSeq; put(LS + ".r", readSeq); }
  }

  function handle(f) {
    if (f.type === "message.new") onNew(f);
    else if (f.type === "message.ack") onAck(f);
    else if (f.type === "resume.done") {
      resuming = false;
      // Seqs a visitor never gets (agents' private notes) are not gaps: jump to the highest seen.
      Array.prototype.forEach.call(log.querySelectorAll(".m[data-seq]"), function (m) { lastSeq = Math.max(lastSeq, +m.dataset.seq); });
      if (f.more) resume(); else if (isOpen) markRead();
    } else if (f.type === "typing" && f.sender && f.sender.type !== "contact") {
      clearTimeout(agentTyping);
      $("w-typing").textContent = f.state === "on" ? T.typing.replace("%(name)s", f.sender.name || T.agent) : "";
      agentTyping = setTimeout(function () { $("w-typing").textContent = ""; }, 8000);
    } else if (f.type === "conversation.updated" && f.conversation === conv && f.status === "resolved") {
      var li = el("li", "m m-sys"); li.appendChild(el("div", "m-body", T.resolved)); log.appendChild(li);
    } else if (f.type === "error") {
      var p = f.ref && log.querySelector('.m[data-cid="' + f.ref + '"]');
      if (p) { delete outbox[f.ref]; p.classList.remove("is-pending"); p.classList.add("is-failed"); p.querySelector(".m-state").textContent = T.failed; }
      else status(f.message || T.error);
    }
  }

  // --- sending -------------------------------------------------------------------------------

  function sendText(text) {
    var f = { type: "message.send", conversation: conv, client_id: uuid(), body: text };
    outbox[f.client_id] = f;
    var li = draw({ client_id: f.client_id, body: text, sender: { type: "contact" } }, true);
    log.appendChild(li); log.scrollTop = log.scrollHeight;
    var email = $("w-email");
    var extra = !email.parentNode.hidden && email.value ? { email: email.value } : null;
    if (extra) starting = null; // post the session again, now with the e-mail
    var ready = ensureSession(extra);
    ready.then(function () {
      f.conversation = conv;
      send(f);
    }).catch(function (e) { status(e.message); li.classList.add("is-failed"); });
  }
  log.addEventListener("click", function (e) {
    var li = e.target.closest(".m.is-failed[data-cid]");
    if (!li || !li.querySelector(".m-body")) return;
    var f = { type: "message.send", conversation: conv, client_id: li.dataset.cid, body: li.querySelector(".m-body").textContent };
    outbox[f.client_id] = f; li.classList.remove("is-failed"); li.classList.add("is-pending"); send(f);
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = body.value;
    if (!text.trim()) return;
    body.value = ""; sendText(text);
    if (conv) send({ type: "typing", conversation: conv, state: "off" }); // none yet before the first message
  });
  body.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
  });
  var typingTimer = null, typingOn = false;
  body.addEventListener("input", function () {
    if (!conv) return;
    if (!typingOn) typingOn = send({ type: "typing", conversation: conv, state: "on" });
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { typingOn = false; send({ type: "typing", conversation: conv, state: "off" }); }, 3000);
  });

  function upload(blob, name) {
    var cid = uuid();
    var li = draw({ client_id: cid, body: T.uploading + " " + name, sender: { type: "contact" } }, true);
    log.appendChild(li); log.scrollTop = log.scrollHeight;
    ensureSession().then(function () {
      var fd = new FormData();
      fd.append("file", blob, name); fd.append("client_id", cid);
      if (conv) fd.append("conversation", conv);
      return fetch(C.uploadUrl, { method: "POST", body: fd, headers: { Authorization: "Bearer " + token } });
    }).then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error((j.error && j.error.message) || T.error); return j; }); })
      .then(function (ack) {
        setConv(ack.conversation);
        if (seen[ack.id]) li.remove();
        else setTimeout(function () { if (!seen[ack.id]) resume(); }, 1500); // its message.new may have been dropped
      })
      .catch(function (e) { li.classList.remove("is-pending"); li.classList.add("is-failed"); li.querySelector(".m-state").textContent = e.message; });
  }
  $("w-file").addEventListener("change", function (e) { var f = e.target.files[0]; if (f) upload(f, f.name); e.target.value = ""; });

  var rec = null;
  $("w-rec").addEventListener("click", function () {
    var btn = this;
    if (rec) { rec.stop(); return; }
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      var chunks = [];
      rec = new MediaRecorder(stream);
      rec.ondataavailable = function (e) { if (e.data.size) chunks.push(e.data); };
      rec.onstop = function () {
        stream.getTracks().forEach(function (t) { t.stop(); });
        var type = rec.mimeType || "audio/webm"; rec = null;
        btn.setAttribute("aria-pressed", "false"); btn.title = T.record;
        upload(new Blob(chunks, { type: type }), "audio." + (type.indexOf("ogg") >= 0 ? "ogg" : "webm"));
      };
      rec.start(); btn.setAttribute("aria-pressed", "true"); btn.title = T.stop;
    }).catch(function () { status(T.mic_denied); });
  });

  // --- pre-chat, availability, features ------------------------------------------------------

  pre.addEventListener("submit", function (e) {
    e.preventDefault();
    if (!pre.checkValidity()) { pre.reportValidity(); return; }
    var data = { fields: {} };
    Array.prototype.forEach.call(pre.querySelectorAll("input"), function (i) {
      if (/^(name|email|phone)$/.test(i.name)) data[i.name] = i.value; else if (i.value) data.fields[i.name] = i.value;
    });
    starting = null;
    ensureSession(data).then(function () { body.focus(); }).catch(function (x) { status(x.message); });
  });
  function availability() {
    var online = S.open && S.agents_online;
    $("w-offline").hidden = online;
    body.placeholder = online ? T.placeholder : T.offline_placeholder;
    $("w-email").parentNode.hidden = online || knownEmail;
    $("w-attach-label").hidden = !(S.features && S.features.files);
    $("w-rec").hidden = !(S.features && S.features.audio && window.MediaRecorder && navigator.mediaDevices);
  }

  window.addEventListener("message", function (e) {
    if (e.source !== window.parent || !e.data) return;
    if (e.data.orbit === "restore" && !local && restoring) {
      var d = e.data.data || {};
      Object.keys(d).forEach(function (k) { if (typeof d[k] === "string" && k.indexOf(LS) === 0) mem[k] = d[k]; });
      restoring(); restoring = null;
    } else if (e.data.orbit === "open") { isOpen = true; unread = 0; parent({ orbit: "unread", n: 0 }); markRead(); body.focus(); }
    else if (e.data.orbit === "closed") isOpen = false;
  });
  $("w-close").addEventListener("click", function () { parent({ orbit: "close" }); });
  document.addEventListener("visibilitychange", function () { if (isOpen && !document.hidden) markRead(); });
  window.orbitWidget = { drop: function () { if (ws) ws.close(); } }; // tests and manual reconnects
  if (window.parent === window) isOpen = true; // opened directly (no launcher)

  function start() {
    token = get(LS); conv = +get(LS + ".c") || null; readSeq = +get(LS + ".r") || 0;
    var needsForm = !token && S.prechat_fields && S.prechat_fields.length && pre.querySelector("input");
    if (needsForm) { pre.hidden = false; form.hidden = true; }
    if (token) ensureSession().catch(function () { /* drawn on first send */ });
  }
  var restoring = null;
  availability();
  if (local || window.parent === window) start();
  else { restoring = start; setTimeout(function () { if (restoring) { restoring(); restoring = null; } }, 1500); }
  parent({ orbit: "ready", color: getComputedStyle(document.documentElement).getPropertyValue("--w-primary").trim(), title: document.title });
})();
