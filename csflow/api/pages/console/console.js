// The console's only script (docs/architecture.md, "The console"): live refresh and
// phrase insertion. Pages work without it — forms post, links navigate — it only adds.
(function () {
  "use strict";
  var body = document.body;
  var shown = body.dataset.version || "";
  var every = Number(body.dataset.pollMs) || 1000;
  var mark = document.getElementById("updated");

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

  async function refresh(version) {
    var live = document.getElementById("live");
    var answer = await fetch(fragmentUrl(), {credentials: "same-origin",
                                             headers: {"Accept": "text/html"}});
    if (!answer.ok || answer.redirected) { return false; }
    live.innerHTML = await answer.text();
    shown = version;
    var now = new Date();
    say(body.dataset.updated + " " + now.toLocaleTimeString());
    body.dataset.version = version;
    return true;
  }

  async function check() {
    if (document.hidden || !shown) { return; }
    try {
      var answer = await fetch(body.dataset.versionUrl, {credentials: "same-origin",
                                                         cache: "no-store"});
      if (answer.status === 401) { say(body.dataset.expired); shown = ""; return; }
      if (!answer.ok) { return; }
      var version = (await answer.json()).version;
      if (version !== shown) { await refresh(version); }
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
