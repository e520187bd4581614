/* Orbit chat widget loader, served as /widget.js from the tenant's host:
 *   <script src="https://<tenant host>/widget.js" data-inbox="KEY" async></script>
 * Adds a launcher button (in a closed shadow root, so the page's CSS can't reach it) and
 * an iframe on the tenant's host that does everything else. Talks to the iframe only
 * through postMessage, checking the sender is that iframe on that origin. */
(function () {
  "use strict";
  var s = document.currentScript || document.querySelector('script[data-inbox][src*="/widget.js"]');
  if (!s || window.__orbitChat) return;
  var key = s.getAttribute("data-inbox");
  if (!key) return;
  window.__orbitChat = 1;
  var origin = new URL(s.src, location.href).origin;

  var host = document.createElement("div");
  host.setAttribute("data-orbit-chat", "");
  host.style.cssText = "all:initial;position:fixed;z-index:2147483000;right:0;bottom:0;width:0;height:0";
  var root = host.attachShadow ? host.attachShadow({ mode: "closed" }) : host;
  root.innerHTML =
    "<style>" +
    ":host{all:initial}" +
    "button{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;cursor:pointer;" +
    "background:var(--c,#2f5bea);color:#fff;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center;padding:0}" +
    "button:focus-visible{outline:3px solid #fff;box-shadow:0 0 0 6px var(--c,#2f5bea)}" +
    "svg{width:28px;height:28px;fill:currentColor}" +
    "b{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;border-radius:10px;background:#d93025;color:#fff;" +
    "font:700 12px/20px system-ui,sans-serif;text-align:center;padding:0 5px;box-sizing:border-box}" +
    "iframe{position:fixed;right:20px;bottom:88px;width:370px;height:min(600px,calc(100vh - 108px));border:0;border-radius:14px;" +
    "box-shadow:0 8px 32px rgba(0,0,0,.22);background:#fff;color-scheme:normal}" +
    "[hidden]{display:none!important}" +
    // Phones: the open panel takes the whole screen and the launcher steps aside (it would lie on
    // the panel's send button); the panel's own close button brings it back.
    "@media (max-width:480px){iframe{right:0;bottom:0;width:100vw;height:100vh;height:100dvh;border-radius:0}" +
    "button[aria-expanded=true]{display:none}}" +
    "</style>" +
    '<iframe hidden allow="microphone" title="Chat"></iframe>' +
    '<button type="button" aria-expanded="false" aria-label="Chat">' +
    '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>' +
    "<b hidden></b></button>";
  var frame = root.querySelector("iframe"), btn = root.querySelector("button"), badge = root.querySelector("b");
  frame.src = origin + "/widget/" + encodeURIComponent(key) + "/";

  var LS = "orbit.chat." + key;
  function stored() { try { return JSON.parse(localStorage.getItem(LS)) || {}; } catch (x) { return {}; } }
  function tell(type, data) { frame.contentWindow && frame.contentWindow.postMessage({ orbit: type, data: data }, origin); }
  function toggle(open) {
    frame.hidden = !open;
    btn.setAttribute("aria-expanded", String(open));
    tell(open ? "open" : "closed");
    if (open) { badge.hidden = true; frame.focus(); } else btn.focus();
  }
  btn.addEventListener("click", function () { toggle(frame.hidden); });

  window.addEventListener("message", function (e) {
    if (e.origin !== origin || e.source !== frame.contentWindow || !e.data || typeof e.data !== "object") return;
    var d = e.data;
    if (d.orbit === "ready") {
      tell("restore", stored());
      if (/^#[0-9a-f]{3,8}$/i.test(d.color || "")) btn.style.setProperty("--c", d.color);
      if (typeof d.title === "string") { btn.setAttribute("aria-label", d.title); frame.title = d.title; }
      tell(frame.hidden ? "closed" : "open");
    } else if (d.orbit === "unread") {
      var n = Math.max(0, d.n | 0);
      badge.textContent = n > 99 ? "99+" : String(n);
      badge.hidden = !n || !frame.hidden;
    } else if (d.orbit === "close") toggle(false);
    else if (d.orbit === "store" && d.data && typeof d.data === "object") {
      // The iframe may not use its own storage (third-party): keep its token on this page.
      try { localStorage.setItem(LS, JSON.stringify(d.data)); } catch (x) { /* storage off: per page load */ }
    }
  });

  (document.body || document.documentElement).appendChild(host);
})();
