/* Orbit agent inbox: the one socket client (/ws/agent/).
 *
 * PostgreSQL is the record and the channel layer may drop notifications, so this client
 * never trusts delivery: it tracks the highest contiguous `seq` of the open conversation,
 * asks for a `resume` on any gap and after every reconnect, and draws a message once
 * (deduplicated by message id, optimistic sends reconciled by client_id).
 * Everything a person typed is inserted with textContent, never as HTML. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("inbox-config").textContent);
  var T = cfg.i18n;
  var convId = cfg.conversation;
  var $ = function (id) { return document.getElementById(id); };
  var msgs = $("messages"), body = $("composer-body"), privateBox = $("composer-private");
  var statusEl = $("conn-status"), typingEl = $("typing");

  var ws = null, backoff = 500, everConnected = false;
  var lastSeq = cfg.lastSeq || 0;   // highest contiguous seq drawn for the open conversation
  var ahead = {};                   // seqs received beyond a gap
  var resuming = false;
  var seen = {};                    // message ids already drawn
  var outbox = {};                  // client_id -> frame, until acked
  var subscribed = {};
  var contactRead = cfg.contactReadSeq || 0;

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, function (c) {
      return (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16);
    });
  }
  function send(frame) {
    if (ws && ws.readyState === 1) { ws.send(JSON.stringify(frame)); return true; }
    return false;
  }
  function setStatus(text, ok) {
    statusEl.textContent = text;
    statusEl.className = "conn-status" + (ok ? " ok" : "");
  }
  function csrf() {
    var el = document.querySelector("input[name=csrfmiddlewaretoken]");
    return el ? el.value : "";
  }

  // --- messages ------------------------------------------------------------------------

  if (msgs) {
    Array.prototype.forEach.call(msgs.querySelectorAll(".msg"), function (li) { seen[li.dataset.id] = true; });
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function fmtTime(iso) {
    var d = iso ? new Date(iso) : new Date();
    return d.toLocaleString(document.documentElement.lang || undefined, { dateStyle: "short", timeStyle: "short" });
  }
  function senderName(f) {
    var s = f.sender || {};
    if (s.type === "contact") return cfg.contactName || T.visitor;
    if (s.type === "system") return T.system;
    return s.name || "";
  }
  function attachmentNode(a) {
    if (a.kind === "image") {
      var link = el("a"); link.href = a.url; link.target = "_blank"; link.rel = "noopener";
      var img = el("img"); img.src = a.url; img.alt = a.name || ""; img.loading = "lazy";
      link.appendChild(img); return link;
    }
    if (a.kind === "audio") {
      var au = el("audio"); au.controls = true; au.preload = "none"; au.src = a.url;
      au.setAttribute("aria-label", a.name || ""); return au;
    }
    var f = el("a", "file", (a.name || "") + " (" + Math.max(1, Math.round(a.size / 1024)) + " KB)");
    f.href = a.url; f.setAttribute("download", a.name || ""); return f;
  }
  function renderMessage(f, pending) {
    var li = el("li", "msg msg--" + ((f.sender && f.sender.type) || "agent") + (f.private ? " msg--private" : "") + (pending ? " is-pending" : ""));
    if (f.id) { li.id = "m-" + f.id; li.dataset.id = f.id; li.dataset.seq = f.seq; }
    li.dataset.clientId = f.client_id;
    var meta = el("div", "msg__meta");
    meta.appendChild(el("span", "msg__sender", senderName(f)));
    meta.appendChild(document.createTextNode(" "));
    var t = el("time", null, fmtTime(f.created_at)); if (f.created_at) t.dateTime = f.created_at;
    meta.appendChild(t);
    if (f.private) { meta.appendChild(document.createTextNode(" ")); meta.appendChild(el("span", "msg__tag", T.note)); }
    meta.appendChild(el("span", "msg__state", pending ? T.sending : ""));
    li.appendChild(meta);
    if (f.body) li.appendChild(el("div", "msg__body", f.body));
    if (f.attachments && f.attachments.length) {
      var box = el("div", "msg__atts");
      f.attachments.forEach(function (a) { box.appendChild(attachmentNode(a)); });
      li.appendChild(box);
    }
    return li;
  }
  function nearBottom() { return msgs.scrollHeight - msgs.scrollTop - msgs.clientHeight < 120; }
  function insertBySeq(li, seq) {
    var stick = nearBottom();
    var items = msgs.querySelectorAll(".msg[data-seq]"), before = null;
    for (var i = items.length - 1; i >= 0; i--) {
      if (+items[i].dataset.seq < seq) break;
      before = items[i];
    }
    // Pending (unacked) messages stay last: they are the newest thing on screen.
    if (!before) before = msgs.querySelector(".msg.is-pending");
    msgs.insertBefore(li, before);
    if (stick) msgs.scrollTop = msgs.scrollHeight;
  }
  function markReadUpTo(seq) {
    contactRead = Math.max(contactRead, seq);
    Array.prototype.forEach.call(msgs.querySelectorAll(".msg--agent[data-seq]:not(.msg--private)"), function (li) {
      if (+li.dataset.seq <= contactRead) { li.classList.add("is-read"); li.querySelector(".msg__state").textContent = "✓✓ " + T.read; }
    });
  }
  function advance(seq) {
    ahead[seq] = true;
    while (ahead[lastSeq + 1]) { delete ahead[lastSeq + 1]; lastSeq++; }
  }
  function resume() {
    if (!convId || resuming) return;
    resuming = send({ type: "resume", conversation: convId, after_seq: lastSeq });
  }

  function onMessage(f) {
    if (f.conversation !== convId) { refreshRow(f.conversation); return; }
    if (seen[f.id]) { advance(f.seq); return; }
    seen[f.id] = true;
    var mine = msgs.querySelector('.msg[data-client-id="' + f.client_id + '"]');
    var li = renderMessage(f, false);
    if (mine) mine.remove();
    insertBySeq(li, f.seq);
    if (f.seq > lastSeq + 1 && !ahead[f.seq - 1]) { advance(f.seq); resume(); } else advance(f.seq);
    markReadUpTo(contactRead);
    if (f.sender && f.sender.type === "contact") { typingEl.textContent = ""; markRead(); }
    refreshRow(f.conversation);
  }
  function onAck(f) {
    var frame = outbox[f.client_id];
    delete outbox[f.client_id];
    var li = msgs && msgs.querySelector('.msg[data-client-id="' + f.client_id + '"]');
    if (!li || seen[f.id]) { if (li && li.classList.contains("is-pending")) li.remove(); return; }
    // Not yet seen as message.new: the ack makes the optimistic copy the real one.
    seen[f.id] = true;
    li.classList.remove("is-pending", "is-failed");
    li.id = "m-" + f.id; li.dataset.id = f.id; li.dataset.seq = f.seq;
    li.querySelector(".msg__state").textContent = "";
    li.remove(); insertBySeq(li, f.seq);
    if (f.seq > lastSeq + 1) { advance(f.seq); resume(); } else advance(f.seq);
    void frame;
  }
  function onError(f) {
    if (f.ref && outbox[f.ref]) {
      delete outbox[f.ref];
      var li = msgs.querySelector('.msg[data-client-id="' + f.ref + '"]');
      if (li) {
        li.classList.remove("is-pending"); li.classList.add("is-failed");
        li.querySelector(".msg__state").textContent = T.failed + " (" + f.message + ")";
        li.tabIndex = 0;
      }
      return;
    }
    showError(f.message || T.error);
  }
  function showError(text) {
    var e = $("composer-error");
    if (!e) { setStatus(text, false); return; }
    e.textContent = text; e.hidden = false;
    setTimeout(function () { e.hidden = true; }, 6000);
  }

  // --- read & typing -------------------------------------------------------------------

  var readSent = 0, readTimer = null;
  function markRead() {
    if (!convId || document.hidden) return;
    clearTimeout(readTimer);
    readTimer = setTimeout(function () {
      if (lastSeq > readSent && send({ type: "read", conversation: convId, seq: lastSeq })) readSent = lastSeq;
    }, 300);
  }
  document.addEventListener("visibilitychange", markRead);

  var typingTimers = {};
  function onTyping(f) {
    if (f.conversation !== convId || !f.sender || (f.sender.type === "agent" && f.sender.id === cfg.user)) return;
    var who = f.sender.type === "contact" ? (cfg.contactName || T.visitor) : (f.sender.name || "");
    clearTimeout(typingTimers.t);
    if (f.state === "on") {
      typingEl.textContent = T.typing.replace("%(name)s", who);
      typingTimers.t = setTimeout(function () { typingEl.textContent = ""; }, 8000);
    } else typingEl.textContent = "";
  }
  var typingOn = false, typingIdle = null;
  function typed() {
    if (!typingOn && send({ type: "typing", conversation: convId, state: "on" })) typingOn = true;
    clearTimeout(typingIdle);
    typingIdle = setTimeout(stopTyping, 3000);
  }
  function stopTyping() {
    clearTimeout(typingIdle);
    if (typingOn) send({ type: "typing", conversation: convId, state: "off" });
    typingOn = false;
  }

  // --- composer ------------------------------------------------------------------------

  function sendMessage(text) {
    var frame = { type: "message.send", conversation: convId, client_id: uuid(), body: text, private: privateBox.checked };
    outbox[frame.client_id] = frame;
    var li = renderMessage({ client_id: frame.client_id, body: text, private: frame.private, sender: { type: "agent", name: "" } }, true);
    li.querySelector(".msg__sender").textContent = "";
    msgs.appendChild(li);
    msgs.scrollTop = msgs.scrollHeight;
    send(frame); // if the socket is down, the outbox is flushed on reconnect (same client_id: no duplicate)
    stopTyping();
  }
  function retry(li) {
    var id = li.dataset.clientId;
    var bodyEl = li.querySelector(".msg__body");
    var frame = { type: "message.send", conversation: convId, client_id: id, body: bodyEl ? bodyEl.textContent : "", private: li.classList.contains("msg--private") };
    outbox[id] = frame;
    li.classList.remove("is-failed"); li.classList.add("is-pending");
    li.querySelector(".msg__state").textContent = T.sending;
    send(frame);
  }
  if (msgs) {
    msgs.addEventListener("click", function (e) {
      var li = e.target.closest(".msg.is-failed"); if (li) retry(li);
    });
    msgs.addEventListener("keydown", function (e) {
      var li = e.target.closest && e.target.closest(".msg.is-failed"); if (li && e.key === "Enter") retry(li);
    });
  }

  var suggestions = $("canned-suggestions");
  function cannedMatches() {
    var m = /^\/([\w-]*)$/.exec(body.value);
    if (!m) return [];
    return Object.keys(cfg.canned).filter(function (k) { return k.indexOf(m[1]) === 0; }).slice(0, 8);
  }
  function showSuggestions() {
    var keys = cannedMatches();
    suggestions.textContent = "";
    keys.forEach(function (k, i) {
      var li = el("li", i === 0 ? "is-active" : "", "/" + k + " — " + cfg.canned[k].slice(0, 80));
      li.setAttribute("role", "option");
      li.addEventListener("mousedown", function (e) { e.preventDefault(); expand(k); });
      suggestions.appendChild(li);
    });
    suggestions.hidden = !keys.length;
  }
  function expand(key) {
    body.value = cfg.canned[key];
    suggestions.hidden = true;
    body.focus();
  }

  if (body) {
    $("composer").addEventListener("submit", function (e) {
      e.preventDefault();
      var text = body.value;
      if (!text.trim()) return;
      if (text.length > cfg.maxBody) { showError(T.error); return; }
      body.value = ""; suggestions.hidden = true;
      sendMessage(text);
    });
    body.addEventListener("keydown", function (e) {
      // "/shortcut" alone in the composer: Tab or Enter puts the canned text in (then Enter sends it).
      var keys = cannedMatches();
      if ((e.key === "Tab" || e.key === "Enter") && !e.shiftKey && keys.length) { e.preventDefault(); expand(keys[0]); return; }
      if (e.key === "Escape") { suggestions.hidden = true; return; }
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); $("composer").requestSubmit(); }
    });
    body.addEventListener("input", function () { showSuggestions(); if (body.value) typed(); else stopTyping(); });
    body.addEventListener("blur", stopTyping);

    $("composer-file").addEventListener("change", function (e) {
      var file = e.target.files[0];
      if (file) upload(file, file.name);
      e.target.value = "";
    });
    setupRecorder();
  }

  function upload(blob, name) {
    var clientId = uuid();
    var li = renderMessage({ client_id: clientId, body: T.uploading + " " + name, private: privateBox.checked, sender: { type: "agent" } }, true);
    msgs.appendChild(li); msgs.scrollTop = msgs.scrollHeight;
    var form = new FormData();
    form.append("file", blob, name);
    form.append("client_id", clientId);
    if (privateBox.checked) form.append("private", "1");
    fetch(cfg.uploadUrl, { method: "POST", body: form, headers: { "X-CSRFToken": csrf() }, credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
      .then(function (res) {
        if (!res.ok) throw new Error((res.data.error && res.data.error.message) || T.error);
        // The message itself (with its file's URL) arrives as message.new, which replaces the
        // placeholder by client_id; if that notification was dropped, a resume fetches it.
        if (seen[res.data.id]) { li.remove(); return; }
        li.querySelector(".msg__state").textContent = "";
        setTimeout(function () { if (!seen[res.data.id]) resume(); }, 1500);
      })
      .catch(function (err) {
        li.classList.remove("is-pending"); li.classList.add("is-failed", "is-upload");
        li.querySelector(".msg__state").textContent = err.message;
      });
  }

  function setupRecorder() {
    var btn = $("composer-record"), rec = null, chunks = [];
    if (!btn) return;
    if (!window.MediaRecorder || !navigator.mediaDevices) { btn.hidden = true; return; }
    var label = btn.querySelector("span");
    btn.addEventListener("click", function () {
      if (rec) { rec.stop(); return; }
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
        chunks = [];
        rec = new MediaRecorder(stream);
        rec.ondataavailable = function (e) { if (e.data.size) chunks.push(e.data); };
        rec.onstop = function () {
          stream.getTracks().forEach(function (t) { t.stop(); });
          btn.setAttribute("aria-pressed", "false"); label.textContent = T.record;
          var type = rec.mimeType || "audio/webm"; rec = null;
          upload(new Blob(chunks, { type: type }), "audio." + (type.indexOf("ogg") >= 0 ? "ogg" : "webm"));
        };
        rec.start();
        btn.setAttribute("aria-pressed", "true"); label.textContent = T.recording;
      }).catch(function () { showError(T.mic_denied); });
    });
  }

  // --- the conversation list -----------------------------------------------------------

  function listQuery() {
    var list = $("conv-list");
    return list ? list.dataset.query : "";
  }
  function subscribeRows() {
    Array.prototype.forEach.call(document.querySelectorAll(".conv-row"), function (row) {
      var id = +row.dataset.id;
      if (id !== convId && !subscribed[id] && send({ type: "subscribe", conversation: id })) subscribed[id] = true;
    });
  }
  var rowTimers = {};
  function refreshRow(id) {
    if (!id) return;
    clearTimeout(rowTimers[id]);
    rowTimers[id] = setTimeout(function () {
      fetch(cfg.rowUrl.replace("/0/", "/" + id + "/") + "?" + listQuery(), { credentials: "same-origin" }).then(function (r) {
        var old = $("row-" + id), rows = $("conv-rows");
        if (!rows) return;
        if (r.status === 204) { if (old) old.remove(); return; }
        if (!r.ok) return;
        return r.text().then(function (html) {
          var tpl = document.createElement("template"); tpl.innerHTML = html.trim();
          var row = tpl.content.firstElementChild;
          if (!row) return;
          if (+row.dataset.id === convId) {
            row.querySelector(".unread").hidden = true; // the open conversation is being read
            row.querySelector("a").setAttribute("aria-current", "page");
          }
          var hadFocus = old && old.contains(document.activeElement);
          // newest activity first, like the server's order
          var act = +row.dataset.activity, next = null, more = $("conv-more");
          Array.prototype.some.call(rows.querySelectorAll(".conv-row"), function (r2) {
            if (r2 !== old && +r2.dataset.activity <= act) { next = r2; return true; } return false;
          });
          // Older than every loaded row while more pages remain: "Load more" brings it in its place.
          if (!next && !old && more) return;
          if (old) old.remove();
          var empty = rows.querySelector(".conv-rows__empty"); if (empty) empty.remove();
          rows.insertBefore(row, next || more);
          if (hadFocus) row.querySelector("a").focus();
          subscribeRows();
        });
      }).catch(function () { /* the next event or reconnect refreshes it */ });
    }, 150);
  }
  // "Load more": the next page replaces the button (#conv-more). A row moved up by a live update
  // while the page was in flight may come twice: the first (newer) copy stays.
  var moreFocus = -1;
  document.body.addEventListener("htmx:beforeRequest", function (e) {
    var more = $("conv-more");
    if (more && more.contains(e.target)) moreFocus = more.contains(document.activeElement) ? document.querySelectorAll(".conv-row").length : -1;
  });
  document.body.addEventListener("htmx:beforeSwap", function (e) {
    // a refused cursor answers 400 with a message in place of the button: show it
    if (e.detail.xhr.status === 400 && e.detail.target && e.detail.target.id === "conv-more") { e.detail.shouldSwap = true; e.detail.isError = false; }
  });
  function pageLoaded() {
    var ids = {};
    Array.prototype.forEach.call(document.querySelectorAll("#conv-rows .conv-row"), function (r) {
      if (ids[r.dataset.id]) r.remove(); else ids[r.dataset.id] = true;
      if (+r.dataset.id === convId) r.querySelector("a").setAttribute("aria-current", "page");
    });
    var links = document.querySelectorAll(".conv-row a");
    if (moreFocus >= 0) (links[moreFocus] || $("conv-more") || links[links.length - 1] || document.body).focus();
    moreFocus = -1;
    subscribeRows();
  }
  document.body.addEventListener("htmx:afterSwap", function (e) {
    if (e.target && e.target.id === "conv-list") { subscribed = {}; subscribeRows(); }
    else if (e.target && e.target.closest && e.target.closest("#conv-rows")) pageLoaded();
    if (msgs && msgs.contains(e.target)) {
      Array.prototype.forEach.call(msgs.querySelectorAll(".msg"), function (li) { seen[li.dataset.id] = true; });
      markReadUpTo(contactRead);
    }
  });

  function refreshPanel() {
    if (!cfg.panelUrl || !window.htmx) return;
    var side = $("conv-side");
    if (side && side.contains(document.activeElement) && document.activeElement.tagName !== "BUTTON") return; // don't yank a form the agent is using
    htmx.ajax("GET", cfg.panelUrl, { target: "#conv-side", swap: "outerHTML" });
  }

  // --- presence ------------------------------------------------------------------------

  var presenceSel = $("presence");
  function showPresence(state) {
    presenceSel.value = state;
    presenceSel.parentNode.querySelector(".presence__dot").dataset.state = state;
  }
  presenceSel.addEventListener("change", function () {
    send({ type: "presence", state: presenceSel.value });
    showPresence(presenceSel.value);
  });

  // --- keyboard ------------------------------------------------------------------------

  document.addEventListener("keydown", function (e) {
    if (!e.altKey || e.ctrlKey || e.metaKey) return;
    var k = e.key.toLowerCase();
    if (k === "n" && privateBox) { e.preventDefault(); privateBox.checked = !privateBox.checked; body.focus(); }
    else if (k === "c" && body) { e.preventDefault(); body.focus(); }
    else if (k === "j" || k === "k") {
      var links = Array.prototype.slice.call(document.querySelectorAll(".conv-row a"));
      if (!links.length) return;
      e.preventDefault();
      var cur = links.indexOf(document.activeElement);
      if (cur < 0) cur = links.findIndex(function (a) { return a.getAttribute("aria-current") === "page"; });
      links[Math.max(0, Math.min(links.length - 1, cur + (k === "j" ? 1 : -1)))].focus();
    }
  });

  // --- the socket ----------------------------------------------------------------------

  function handle(f) {
    switch (f.type) {
      case "message.new": onMessage(f); break;
      case "message.ack": onAck(f); break;
      case "resume.done":
        if (f.conversation !== convId) break;
        resuming = false;
        if (f.more) { resume(); break; }
        // Anything still missing after a full replay is not coming (deleted): stop waiting for it.
        var max = Object.keys(ahead).reduce(function (m, s) { return Math.max(m, +s); }, lastSeq);
        if (max > lastSeq) { ahead = {}; lastSeq = max; }
        markRead();
        break;
      case "conversation.activity": // a quiet conversation woke up, maybe beyond the loaded pages
        if (!subscribed[f.conversation] && f.conversation !== convId) refreshRow(f.conversation);
        break;
      case "conversation.updated":
        refreshRow(f.conversation);
        if (f.conversation === convId) refreshPanel();
        break;
      case "typing": onTyping(f); break;
      case "read": if (f.conversation === convId && f.sender && f.sender.type === "contact") markReadUpTo(f.seq); break;
      case "presence": if (f.agent === cfg.user) showPresence(f.state); break;
      case "error": onError(f); break;
    }
  }

  function connect() {
    setStatus(T.connecting, false);
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/agent/");
    ws.onopen = function () {
      backoff = 500; resuming = false; subscribed = {};
      setStatus(T.connected, true);
      if (convId) resume();            // everything after the last seq drawn (also subscribes)
      subscribeRows();
      Object.keys(outbox).forEach(function (id) { send(outbox[id]); }); // idempotent on client_id
      if (everConnected) Array.prototype.forEach.call(document.querySelectorAll(".conv-row"), function (r) { refreshRow(+r.dataset.id); });
      everConnected = true;
    };
    ws.onmessage = function (e) {
      var f; try { f = JSON.parse(e.data); } catch (err) { return; }
      handle(f);
    };
    ws.onclose = function () {
      setStatus(T.offline, false);
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    };
  }

  // Test hook and manual reconnect: close the socket as a network drop would.
  window.orbitInbox = { drop: function () { if (ws) ws.close(); }, state: function () { return { lastSeq: lastSeq, seen: Object.keys(seen).length }; } };
  if (msgs) { msgs.scrollTop = msgs.scrollHeight; markReadUpTo(contactRead); }
  connect();
  markRead();
})();
