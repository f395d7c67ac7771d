// The console's only script (docs/architecture.md, "The console"): live refresh and
// phrase insertion. Pages work without it — forms post, links navigate — it only adds.
(function () {
  "use strict";
  var body = document.body;
  var shown = body.dataset.version || "";
  var every = Number(body.dataset.pollMs) || 1000;
  var mark = document.getElementById("updated");
  var swapped = Date.now();
  var STALE_MS = 60000; // times left age on a quiet page: redraw them once a minute

  function fragmentUrl() {
    var url = new URL(window.location.href);
    url.searchParams.delete("done");
    url.searchParams.set("fragment", "1");
    return url.toString();
  }

  function say(text) {
    mark.textContent = text;
    mark.hidden = false;
    mark.classList.remove("flash");
    void mark.offsetWidth; // restart the animation
    mark.classList.add("flash");
  }

  async function refresh(version, changed) {
    var live = document.getElementById("live");
    var answer = await fetch(fragmentUrl(), {credentials: "same-origin",
                                             headers: {"Accept": "text/html"}});
    if (!answer.ok || answer.redirected) { return false; }
    var got = document.createElement("template");
    got.innerHTML = await answer.text();
    var parts = got.content.querySelectorAll("[data-part]");
    if (!parts.length) {
      live.innerHTML = got.innerHTML;
    } else {
      parts.forEach(function (part) {
        var target = document.getElementById(part.dataset.part);
        // Forms are swapped (their legality follows the status) only while nobody is
        // typing in them: a refresh must never eat a half-written note.
        if (target && (part.dataset.part === "live" || !busy(target))) {
          target.innerHTML = part.innerHTML;
        }
      });
    }
    shown = version;
    swapped = Date.now();
    body.dataset.version = version;
    if (changed) { say(body.dataset.updated + " " + new Date().toLocaleTimeString()); }
    return true;
  }

  function busy(region) {
    if (region.contains(document.activeElement) || region.querySelector("details[open]")) {
      return true;
    }
    return Array.prototype.some.call(region.querySelectorAll("input, textarea, select"),
      function (el) {
        if (el.type === "hidden") { return false; }
        if (el.type === "radio" || el.type === "checkbox") {
          return el.checked !== el.defaultChecked;
        }
        if (el.tagName === "SELECT") {  // unmarked, the first option is the default
          var first = Array.prototype.findIndex.call(el.options, function (o) {
            return o.defaultSelected;
          });
          return el.selectedIndex !== Math.max(first, 0);
        }
        return el.value !== el.defaultValue;
      });
  }

  async function check() {
    if (document.hidden || !shown) { return; }
    try {
      var answer = await fetch(body.dataset.versionUrl, {credentials: "same-origin",
                                                         cache: "no-store"});
      if (answer.status === 401) { say(body.dataset.expired); shown = ""; return; }
      if (!answer.ok) { return; }
      var version = (await answer.json()).version;
      if (version !== shown) {
        await refresh(version, true);
      } else if (Date.now() - swapped > STALE_MS) {
        await refresh(version, false);
      }
    } catch (e) { /* offline for a moment: try again on the next tick */ }
  }

  async function loop() {
    await check();
    window.setTimeout(loop, every);
  }
  if (document.getElementById("live")) { window.setTimeout(loop, every); }

  // A standard phrase goes where the cursor is in its field (or at the end).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.phrase");
    if (!button) { return; }
    var field = document.getElementById(button.dataset.target);
    if (!field) { return; }
    var text = button.dataset.text;
    var start = field.selectionStart ?? field.value.length;
    var end = field.selectionEnd ?? field.value.length;
    var before = field.value.slice(0, start);
    var gap = before && !/\s$/.test(before) ? (field.tagName === "TEXTAREA" ? "\n" : " ") : "";
    field.value = before + gap + text + field.value.slice(end);
    var at = (before + gap + text).length;
    field.focus();
    field.setSelectionRange(at, at);
  });
})();
