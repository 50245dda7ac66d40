// levelsets elicitation page: consent -> instructions -> comprehension check -> trials -> debrief
// (-> the platform's completion link, once the last answer is stored).
// Plain JavaScript, no external libraries. Participant-provided text is only ever set with
// textContent / attributes, never as HTML.
(function () {
  "use strict";
  var study = document.body.getAttribute("data-study") || "study";
  var params = new URLSearchParams(window.location.search);
  var ID_PARAMS = ["PROLIFIC_PID", "participant", "workerId", "PARTICIPANT_ID"];
  var pid = null;
  for (var i = 0; i < ID_PARAMS.length && !pid; i++) { pid = params.get(ID_PARAMS[i]); }
  var storeKey = "levelsets-participant-" + study;
  if (!pid) {
    try { pid = window.localStorage.getItem(storeKey); } catch (e) { pid = null; }
  }
  if (!pid) {
    pid = (window.crypto && window.crypto.randomUUID) ? window.crypto.randomUUID()
      : "p-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10);
  }
  try { window.localStorage.setItem(storeKey, pid); } catch (e) { /* private mode: the URL keeps it */ }
  if (!ID_PARAMS.some(function (k) { return params.has(k); })) {
    params.set("participant", pid);
    window.history.replaceState(null, "", "?" + params.toString());
  }
  var platformStudy = params.get("STUDY_ID");
  var platformSession = params.get("SESSION_ID");
  var REDIRECT_DELAY_MS = 1500;

  var session = null;
  var current = null;
  var shownAt = 0;

  function $(id) { return document.getElementById(id); }
  function show(section) {
    ["loading", "consent", "instructions", "comprehension", "trial", "stopped", "debrief"].forEach(function (s) {
      $(s).hidden = (s !== section);
    });
  }
  function fail(message) { $("loading").textContent = message; show("loading"); }

  function request(method, url, body, attempts) {
    attempts = attempts || 6;
    var opts = { method: method, headers: { "Accept": "application/json" } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        return { status: res.status, data: data };
      });
    }, function (err) {
      if (attempts <= 1) { throw err; }
      return new Promise(function (resolve) { setTimeout(resolve, 800); }).then(function () {
        return request(method, url, body, attempts - 1);
      });
    });
  }

  function loadSession() {
    var url = "api/session?participant=" + encodeURIComponent(pid);
    if (platformStudy) { url += "&study_id=" + encodeURIComponent(platformStudy); }
    if (platformSession) { url += "&session_id=" + encodeURIComponent(platformSession); }
    return request("GET", url).then(function (r) {
      if (r.status !== 200) { throw new Error(r.data.detail || ("server answered " + r.status)); }
      session = r.data;
      return session;
    });
  }

  function route() {
    $("consent-pid").textContent = pid;
    $("debrief-pid").textContent = pid;
    if (session.completed) { finish(session.completion); return; }
    if (!session.consented) { show("consent"); return; }
    if (!session.comprehension.passed) { show("instructions"); return; }
    showTrial(session.next_trial);
  }

  // Called only with what the server sent after the last answer was committed.
  function finish(completion) {
    session.completed = true;
    show("debrief");
    if (!completion) { return; }
    $("completion").hidden = false;
    if (completion.code) { $("completion-code").textContent = completion.code; }
    else { $("completion-code").parentNode.hidden = true; }
    if (completion.url) {
      $("completion-link").href = completion.url;
      $("completion-redirect").hidden = false;
      setTimeout(function () { window.location.assign(completion.url); }, REDIRECT_DELAY_MS);
    }
  }

  function showComprehension() {
    var q = session.comprehension;
    $("comprehension-question").textContent = q.text;
    $("comprehension-options").replaceChildren();
    q.options.forEach(function (o) { choice($("comprehension-options"), "radio", "comprehension", o.id, o.text); });
    $("comprehension-error").textContent = "";
    show("comprehension");
  }

  function choice(container, type, name, value, text) {
    var label = document.createElement("label");
    var input = document.createElement("input");
    input.type = type; input.name = name; input.value = value;
    label.appendChild(input);
    label.appendChild(document.createTextNode(" " + text));
    container.appendChild(label);
    return input;
  }

  function buildSoftForm() {
    ["first-choices", "second-choices", "impossible-choices"].forEach(function (id) {
      $(id).replaceChildren();
    });
    session.label_order.forEach(function (name) {
      choice($("first-choices"), "radio", "first", name, name);
      choice($("second-choices"), "radio", "second", name, name);
      choice($("impossible-choices"), "checkbox", "impossible", name, name);
    });
    choice($("second-choices"), "radio", "second", "", "No alternative");
    $("first-prob").value = "";
    $("second-prob").value = "";
  }

  function updateReadouts() {
    var p = Number($("mix-slider").value);
    $("mix-readout-a").textContent = current.classes[0] + ": " + p + "%";
    $("mix-readout-b").textContent = current.classes[1] + ": " + (100 - p) + "%";
    $("confidence-readout").textContent = "confidence: " + $("confidence-slider").value + " / 100";
  }

  function showTrial(t) {
    current = session.trials[t];
    $("trial-error").textContent = "";
    $("progress").textContent = "Image " + (t + 1) + " of " + session.trials.length;
    var mixed = current.kind === "mixed";
    $("soft-form").hidden = mixed;
    $("mix-form").hidden = !mixed;
    if (mixed) {
      $("mix-a").textContent = current.classes[0];
      $("mix-b").textContent = current.classes[1];
      $("mix-slider").value = 50; $("confidence-slider").value = 50;
      $("mix-touched").checked = false;
      updateReadouts();
    } else {
      buildSoftForm();
    }
    var img = $("stimulus");
    img.onload = function () { shownAt = performance.now(); };
    shownAt = performance.now();
    img.src = current.image;
    $("submit-button").disabled = false;
    show("trial");
    window.scrollTo(0, 0);
  }

  function percent(id, label) {
    var raw = $(id).value.trim();
    if (raw === "") { return { empty: true }; }
    var v = Number(raw);
    if (!isFinite(v) || v < 0 || v > 100) {
      return { error: label + " must be a number between 0 and 100." };
    }
    return { value: v };
  }

  function collect() {
    var body = { participant: pid, stimulus: current.stimulus, trial: current.trial,
                 rt_ms: Math.max(0, Math.round(performance.now() - shownAt)) };
    if (current.kind === "mixed") {
      if (!$("mix-touched").checked) { return { error: "Please set both sliders and tick the box." }; }
      body.mix_percent = Number($("mix-slider").value);
      body.confidence = Number($("confidence-slider").value);
      return { body: body };
    }
    var first = document.querySelector("input[name=first]:checked");
    if (!first) { return { error: "Please choose the most probable category." }; }
    var p1 = percent("first-prob", "The percentage of the most probable category");
    if (p1.error) { return p1; }
    if (p1.empty) { return { error: "Please give the percentage of the most probable category (0 to 100)." }; }
    var second = document.querySelector("input[name=second]:checked");
    var secondName = second && second.value ? second.value : null;
    var p2 = percent("second-prob", "The percentage of the alternate category");
    if (p2.error) { return p2; }
    if (secondName) {
      if (secondName === first.value) { return { error: "The alternate category must differ from the most probable one." }; }
      if (p2.empty) { return { error: "Please give the percentage of the alternate category (0 to 100)." }; }
      if (p2.value > p1.value) { return { error: "The alternate category cannot be more probable than the most probable one." }; }
    } else if (!p2.empty) {
      return { error: "You gave a second percentage: please also choose the alternate category (or clear the percentage)." };
    }
    var impossible = Array.prototype.map.call(
      document.querySelectorAll("input[name=impossible]:checked"), function (el) { return el.value; });
    if (impossible.indexOf(first.value) >= 0) {
      return { error: "The most probable category cannot also be marked 'definitely not'." };
    }
    if (secondName && impossible.indexOf(secondName) >= 0) {
      return { error: "The alternate category cannot also be marked 'definitely not'." };
    }
    body.most_probable = first.value;
    body.most_probable_prob = p1.value;
    body.second = secondName;
    body.second_prob = secondName ? p2.value : null;
    body.impossible = impossible;
    return { body: body };
  }

  function submit() {
    var got = collect();
    if (got.error) { $("trial-error").textContent = got.error; return; }
    $("submit-button").disabled = true;
    request("POST", "api/responses", got.body).then(function (r) {
      if (r.status === 200 || r.status === 201) {
        session.answered.push(current.trial);
        if (r.data.next_trial === null || r.data.next_trial === undefined) {
          finish(r.data.completion);
        } else {
          showTrial(r.data.next_trial);
        }
      } else {
        $("trial-error").textContent = r.data.detail || ("The server refused the answer (" + r.status + ").");
        $("submit-button").disabled = false;
      }
    }, function () {
      $("trial-error").textContent = "Could not reach the server; please check your connection and press Continue again.";
      $("submit-button").disabled = false;
    });
  }

  $("consent-button").addEventListener("click", function () {
    if (!$("consent-box").checked) { $("consent-error").textContent = "Please tick the box to agree before continuing."; return; }
    request("POST", "api/consent", { participant: pid }).then(function (r) {
      if (r.status !== 200) { $("consent-error").textContent = r.data.detail || "Could not record consent."; return; }
      session.consented = true;
      show("instructions");
    }, function () { $("consent-error").textContent = "Could not reach the server; try again."; });
  });
  $("start-button").addEventListener("click", function () {
    if (session.comprehension.passed) { showTrial(session.next_trial); } else { showComprehension(); }
  });
  $("comprehension-button").addEventListener("click", function () {
    var picked = document.querySelector("input[name=comprehension]:checked");
    if (!picked) { $("comprehension-error").textContent = "Please choose an answer."; return; }
    request("POST", "api/comprehension", { participant: pid, question: session.comprehension.id, answer: picked.value })
      .then(function (r) {
        if (r.status !== 200) { $("comprehension-error").textContent = r.data.detail || "Could not record the answer."; return; }
        if (r.data.correct) {
          session.comprehension.passed = true;
          showTrial(session.next_trial);
        } else {
          $("instructions-note").textContent = "Not quite: we ask what other people would answer. Please read the instructions again.";
          show("instructions");
        }
      }, function () { $("comprehension-error").textContent = "Could not reach the server; try again."; });
  });
  $("stop-button").addEventListener("click", function () {
    if (!window.confirm("Stop the study now? Your answers so far are kept.")) { return; }
    request("POST", "api/return", { participant: pid }).then(function () { show("stopped"); },
      function () { show("stopped"); });
  });
  $("submit-button").addEventListener("click", submit);
  ["soft-form", "mix-form"].forEach(function (id) {
    $(id).addEventListener("input", function () { $("trial-error").textContent = ""; });
    $(id).addEventListener("change", function () { $("trial-error").textContent = ""; });
  });
  $("mix-slider").addEventListener("input", function () { updateReadouts(); });
  $("confidence-slider").addEventListener("input", function () { updateReadouts(); });

  loadSession().then(route, function (err) { fail("Could not load the study: " + err.message); });
})();
