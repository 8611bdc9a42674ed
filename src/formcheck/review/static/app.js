// formcheck review: plain JavaScript, no libraries. Saves verdicts with fetch POST.
(function () {
  "use strict";
  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };
  var csrf = ($('meta[name="csrf-token"]') || {}).content || "";

  function toast(msg, bad) {
    var t = $("#toast");
    if (!t) return;
    t.textContent = msg;
    t.className = "show" + (bad ? " bad" : "");
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { t.className = ""; }, bad ? 6000 : 2000);
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = JSON.parse(text); } catch (e) { data = {error: text}; }
        if (!r.ok) throw new Error((data && data.error) || ("HTTP " + r.status));
        return data;
      });
    });
  }

  // reviewer name, remembered in this browser
  var who = $("#reviewer");
  var defaultWho = ($('meta[name="default-reviewer"]') || {}).content || "";
  if (who) {
    who.value = localStorage.getItem("formcheck.reviewer") || defaultWho;
    who.addEventListener("change", function () { localStorage.setItem("formcheck.reviewer", who.value.trim()); });
  }
  function reviewer() { return who ? who.value.trim() : ""; }

  var dataEl = $("#set-data");
  if (!dataEl) return;  // the sets list has no more behaviour
  var data = JSON.parse(dataEl.textContent);
  var video = $("#video");
  var reps = data.reps;
  var current = null;  // rep being looked at (for looping)

  function fmt(t) { return (Math.round(t * 10) / 10).toFixed(1) + " s"; }
  function repAt(t) {
    for (var i = 0; i < reps.length; i++) if (t >= reps[i].start_s && t <= reps[i].end_s) return reps[i];
    return null;
  }
  function repByIndex(i) { return reps.filter(function (r) { return r.index === i; })[0] || null; }

  function seek(t, play) {
    if (!video) return;
    var go = function () {
      video.currentTime = Math.max(0, t);
      if (play) { var p = video.play(); if (p && p.catch) p.catch(function () {}); }
    };
    if (video.readyState >= 1) go(); else video.addEventListener("loadedmetadata", go, {once: true});
  }
  function showRep(rep, play) {
    if (!rep) return;
    current = rep;
    markRows();
    seek(rep.start_s, play !== false);
    var box = document.getElementById("rep-" + rep.index);
    if (box) box.scrollIntoView({block: "nearest", behavior: "smooth"});
  }
  function markRows() {
    var t = video ? video.currentTime : 0;
    var at = repAt(t);
    $$(".rep-row").forEach(function (row) {
      var i = +row.dataset.rep;
      row.classList.toggle("current", !!current && current.index === i);
      row.classList.toggle("playing", !!at && at.index === i);
    });
    $$(".rep-findings").forEach(function (box) {
      box.classList.toggle("current", !!current && current.index === +box.dataset.rep);
    });
  }

  $$(".rep-row").forEach(function (row) {
    var go = function () { showRep(repByIndex(+row.dataset.rep)); };
    row.addEventListener("click", go);
    row.addEventListener("keydown", function (e) { if (e.key === "Enter") go(); });
  });
  $$(".seek-rep").forEach(function (b) { b.addEventListener("click", function () { showRep(repByIndex(+b.dataset.rep)); }); });
  $$(".seek-time").forEach(function (b) {
    b.addEventListener("click", function () {
      var rep = repAt(+b.dataset.time);
      if (rep) current = rep;
      markRows();
      seek(+b.dataset.time, false);
    });
  });

  function flaggedStep(dir) {
    var flagged = reps.filter(function (r) { return r.flagged; });
    if (!flagged.length) { toast("No flagged reps in this set"); return; }
    var t = current ? current.start_s : (video ? video.currentTime : 0);
    var next = null;
    if (dir > 0) next = flagged.filter(function (r) { return r.start_s > t + 0.01; })[0] || flagged[0];
    else next = flagged.filter(function (r) { return r.start_s < t - 0.01; }).pop() || flagged[flagged.length - 1];
    showRep(next);
  }
  var nf = $("#next-flagged"), pf = $("#prev-flagged");
  if (nf) nf.addEventListener("click", function () { flaggedStep(1); });
  if (pf) pf.addEventListener("click", function () { flaggedStep(-1); });
  document.addEventListener("keydown", function (e) {
    var tag = (e.target && e.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "n") flaggedStep(1);
    else if (e.key === "p") flaggedStep(-1);
    else if (e.key === "l") { var l = $("#loop"); if (l) { l.checked = !l.checked; } }
  });

  var loop = $("#loop"), speed = $("#speed"), now = $("#now");
  if (speed && video) speed.addEventListener("change", function () { video.playbackRate = +speed.value; });

  // plot: playhead and click-to-seek (the axes rectangle is data.plot_axes, figure fractions)
  var plot = $("#plot"), head = $("#playhead"), ax = data.plot_axes, dur = data.duration || 1;
  if (head) {
    head.style.top = ((1 - ax[1] - ax[3]) * 100) + "%";
    head.style.height = (ax[3] * 100) + "%";
  }
  function placeHead(t) {
    if (!head) return;
    head.style.left = ((ax[0] + ax[2] * Math.min(1, Math.max(0, t / dur))) * 100) + "%";
  }
  placeHead(0);
  if (plot) plot.addEventListener("click", function (e) {
    var r = plot.getBoundingClientRect();
    var fx = (e.clientX - r.left) / r.width;
    var t = (fx - ax[0]) / ax[2] * dur;
    if (t < 0 || t > dur) return;
    current = repAt(t);
    markRows();
    seek(t, false);
  });

  if (video) {
    video.addEventListener("timeupdate", function () {
      var t = video.currentTime;
      if (loop && loop.checked && current && !video.paused && t >= current.end_s) {
        video.currentTime = current.start_s;
        t = current.start_s;
      }
      placeHead(t);
      var at = repAt(t);
      if (now) now.textContent = fmt(t) + (at ? " · rep " + at.index : "");
      markRows();
    });
    video.addEventListener("error", function () { toast("The video could not be played", true); });
  }

  // verdicts and notes: saved at once
  function saveFinding(card, verdict) {
    var note = $(".note", card).value;
    var status = $(".saved", card);
    status.textContent = "saving…";
    return post("/api/findings/" + card.dataset.finding + "/review",
                {verdict: verdict, note: note, reviewer: reviewer()})
      .then(function (row) {
        card.dataset.saved = JSON.stringify({verdict: row.verdict, note: row.note});
        $$(".verdict-btn", card).forEach(function (b) {
          var on = b.dataset.verdict === row.verdict;
          b.classList.toggle("selected", on);
          b.setAttribute("aria-pressed", on ? "true" : "false");
        });
        card.classList.remove("v-agree", "v-overrule", "v-unsure");
        card.classList.add("has-verdict", "v-" + row.verdict);
        status.textContent = "saved " + row.created_utc.slice(0, 16).replace("T", " ") + " UTC" +
          (row.reviewer ? " by " + row.reviewer : "");
        var n = $$(".finding.has-verdict").length, el = $("#n-reviewed");
        if (el) el.textContent = n;
        toast("Saved");
        refreshPlot();
      })
      .catch(function (err) {
        status.textContent = "not saved: " + err.message;
        toast("Not saved: " + err.message, true);
      });
  }
  function currentVerdict(card) {
    var b = $(".verdict-btn.selected", card);
    return b ? b.dataset.verdict : null;
  }
  var plotTimer = null;
  function refreshPlot() {
    clearTimeout(plotTimer);
    plotTimer = setTimeout(function () {
      if (plot) plot.src = "/sets/" + data.id + "/plot.png?v=" + Date.now();
      fetch("/api/sets/" + data.id, {credentials: "same-origin"}).then(function (r) { return r.json(); })
        .then(function (d) {
          var el = $("#reviewed-score");
          if (el && d.reviewed_score !== null) el.textContent = Math.round(d.reviewed_score);
        }).catch(function () {});
    }, 400);
  }
  $$(".finding").forEach(function (card) {
    $$(".verdict-btn", card).forEach(function (b) {
      b.addEventListener("click", function () { saveFinding(card, b.dataset.verdict); });
    });
    var ta = $(".note", card), timer = null;
    var saveNote = function () {
      clearTimeout(timer);
      var v = currentVerdict(card);
      if (!v) { $(".saved", card).textContent = "choose a verdict to save the note"; return; }
      var last = card.dataset.saved ? JSON.parse(card.dataset.saved) : null;
      if (last && last.note === ta.value && last.verdict === v) return;
      saveFinding(card, v);
    };
    ta.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(saveNote, 900); });
    ta.addEventListener("blur", saveNote);
    card.addEventListener("focusin", function () {
      var rep = repByIndex(+card.dataset.rep);
      if (rep && (!current || current.index !== rep.index)) { current = rep; markRows(); }
    });
    var v0 = currentVerdict(card);
    if (v0) card.dataset.saved = JSON.stringify({verdict: v0, note: ta.value});
  });

  // athlete name
  var ath = $("#athlete"), athSave = $("#athlete-save");
  if (ath && athSave) athSave.addEventListener("click", function () {
    post("/api/sets/" + data.id + "/athlete", {athlete: ath.value})
      .then(function (d) { ath.value = d.athlete; toast("Athlete saved"); })
      .catch(function (err) { toast("Not saved: " + err.message, true); });
  });

  // "#flagged": go straight to the first flagged rep that has no verdict yet
  if (location.hash === "#flagged") {
    var open = data.findings.filter(function (f) { return !f.verdict && f.rep > 0; })[0] ||
               data.findings.filter(function (f) { return f.rep > 0; })[0];
    if (open) showRep(repByIndex(open.rep), false);
  }
})();
