// Keyboard-first annotation page. Answers go to an outbox kept in localStorage and are
// sent until the server has them, so a dropped connection or a reload never loses work.
// What is asked (yes/no per image, a 1-5 rating of a label, the best of several labels)
// lives in one object per question type below; the outbox, undo and review are shared.
(function () {
  "use strict";
  const root = document.getElementById("annotator");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const OUTBOX = "nj-outbox-" + root.dataset.study;
  const UNDO_MS = 55 * 1000;  // a little under the server's window
  const state = { unit: null, queue: [], answers: {}, answer: {}, shownAt: 0, last: null, sending: false, inFlight: null, retryMs: 1000 };

  function outbox() { return JSON.parse(localStorage.getItem(OUTBOX) || "[]"); }
  function saveOutbox(items) { localStorage.setItem(OUTBOX, JSON.stringify(items)); }
  function pendingNeurons() { return new Set(outbox().map((s) => s.neuron)); }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf },
      body: JSON.stringify(body),
    });
    let data = {};
    try { data = await response.json(); } catch (e) { /* an HTML error page */ }
    return { status: response.status, data };
  }

  function say(text, kind) { const s = $("status"); s.textContent = text; s.className = "status " + (kind || ""); }

  function newId() {
    if (crypto.randomUUID) return crypto.randomUUID();
    return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) =>
      (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16));
  }

  // --- units -----------------------------------------------------------------------------
  async function fetchNext() {
    const { status, data } = await post(root.dataset.nextUrl, { prefetch: 1 });
    if (status !== 200) { say(data.error || "Could not load the next unit; retrying…", "error"); setTimeout(fetchNext, 3000); return; }
    const skip = pendingNeurons();
    const units = data.units.filter((u) => !skip.has(u.neuron) && !(state.unit && u.neuron === state.unit.neuron));
    state.queue = units;
    units.forEach((u) => u.images.forEach((img) => { new Image().src = img.url; }));  // preload
    showProgress(data.progress);
    if (!state.unit) showNext(data.progress);
  }

  function showNext(progress) {
    state.unit = state.queue.shift() || null;
    if (!state.unit) {
      $("unit").hidden = true;
      if (progress && progress.finished && !outbox().length) finish(progress);
      return;
    }
    render(state.unit, {});
  }

  function render(unit, answer) {
    state.shownAt = performance.now();
    question.show(unit, answer || {});
    $("unit").hidden = false; $("finished").hidden = true;
  }

  function imagesTogether(unit) {
    // Neuron-level questions: the unit's images side by side, nothing to press on them.
    $("images").replaceChildren(...unit.images.map((img, i) => {
      const li = document.createElement("li");
      li.className = "image together";
      const pic = document.createElement("img");
      pic.src = img.url; pic.alt = "image " + (i + 1); pic.width = 200; pic.height = 200;
      li.append(pic);
      return li;
    }));
  }

  function renderPairs(unit, answers) {
    state.answers = Object.assign({}, answers);
    $("label").textContent = unit.label;
    $("max-key").textContent = Math.min(unit.images.length, 10) % 10;
    const list = $("images");
    list.replaceChildren(...unit.images.map((img, i) => {
      const li = document.createElement("li");
      li.className = "image"; li.dataset.id = img.id;
      const pic = document.createElement("img");
      pic.src = img.url; pic.alt = "image " + (i + 1); pic.width = 200; pic.height = 200;
      const caption = document.createElement("div"); caption.className = "caption";
      const key = document.createElement("kbd");
      key.className = "key"; key.textContent = i < 10 ? String((i + 1) % 10) : "";
      const verdict = document.createElement("span"); verdict.className = "verdict";
      caption.append(key, verdict);
      li.append(pic, caption);
      li.addEventListener("click", () => flip(i));
      return li;
    }));
    paint();
  }

  function paint() {
    document.querySelectorAll("#images .image").forEach((li) => {
      const v = state.answers[li.dataset.id] || "";
      li.dataset.verdict = v;
      li.querySelector(".verdict").textContent = { yes: "yes", no: "no", skip: "skip", unclear: "unclear" }[v] || "?";
    });
  }

  function setAll(verdict) { state.unit.images.forEach((img) => { state.answers[img.id] = verdict; }); paint(); }

  function flip(index) {
    const img = state.unit.images[index];
    if (!img) return;
    state.answers[img.id] = state.answers[img.id] === "yes" ? "no" : "yes";
    paint();
  }

  // --- the question types ----------------------------------------------------------------

  const pairYesNo = {
    show(unit, answer) { renderPairs(unit, answer.answers || {}); },
    key(key) {
      if (/^[0-9]$/.test(key)) flip((Number(key) + 9) % 10);
      else if (key === "y") setAll("yes");
      else if (key === "n") setAll("no");
      else if (key === "s") setAll("skip");
      else if (key === "l") setAll("unclear");
      else if (key === "Enter") submitUnit();
      else return false;
      return true;
    },
    undoKeys: ["u", "z"],
    missing(unit) {
      const left = unit.images.filter((img) => !state.answers[img.id]).length;
      return left ? `Answer every image first (${left} left): y / n for all, 1–${Math.min(unit.images.length, 10) % 10} to flip one.` : "";
    },
    fields() { return { answers: state.answers }; },
    fromUndo(data) { return { answers: data.answers }; },
    review(a, thumbs) {
      a.images.forEach((img) => {
        const t = document.createElement("span"); t.className = "thumb"; t.dataset.verdict = img.verdict;
        const pic = document.createElement("img"); pic.src = img.url; pic.alt = img.verdict; pic.width = 56; pic.height = 56;
        const v = document.createElement("span"); v.textContent = img.verdict;
        t.append(pic, v); thumbs.append(t);
      });
    },
  };

  const labelRating = {
    show(unit, answer) {
      state.answer = { rating: answer.rating || null, uninterpretable: !!answer.uninterpretable };
      $("label").textContent = unit.label;
      imagesTogether(unit);
      this.paint();
    },
    paint() {
      document.querySelectorAll("#choices .choice").forEach((b) => {
        const on = b.dataset.value === "u" ? state.answer.uninterpretable : Number(b.dataset.value) === state.answer.rating;
        b.classList.toggle("chosen", on);
      });
    },
    pick(value) {
      state.answer = value === "u" ? { rating: null, uninterpretable: true } : { rating: Number(value), uninterpretable: false };
      this.paint();
      submitUnit();  // one key per unit: the rating is the answer (z takes it back)
    },
    key(key) {
      if (/^[1-5]$/.test(key) || key === "u") this.pick(key);
      else if (key === "Enter") submitUnit();
      else return false;
      return true;
    },
    undoKeys: ["z", "Backspace"],
    missing() { return state.answer.rating || state.answer.uninterpretable ? "" : "Rate the label first: 1–5, or u if it is uninterpretable."; },
    fields() { return { rating: state.answer.rating, uninterpretable: state.answer.uninterpretable }; },
    fromUndo(data) { return data.answer; },
    review: reviewTogether,
  };

  const bestOf = {
    show(unit, answer) {
      state.answer = { chosen: answer.chosen || null, none_fits: !!answer.none_fits };
      $("label").textContent = "Which label fits these images best?";
      imagesTogether(unit);
      const none = $("choice-none");
      $("choices").replaceChildren(...unit.labels.map((label, i) => {
        const b = document.createElement("button");
        b.type = "button"; b.className = "choice"; b.dataset.value = label.id;
        const key = document.createElement("kbd"); key.textContent = i < 9 ? String(i + 1) : "";
        const text = document.createElement("span"); text.className = "choice-text"; text.textContent = label.label;
        b.append(key, text);
        b.addEventListener("click", () => this.pick(label.id));
        return b;
      }), none);
      $("max-choice").textContent = Math.min(unit.labels.length, 9);
      this.paint();
    },
    paint() {
      document.querySelectorAll("#choices .choice").forEach((b) => {
        const on = b.dataset.value === "none" ? state.answer.none_fits : b.dataset.value === state.answer.chosen;
        b.classList.toggle("chosen", on);
      });
    },
    pick(value) {
      state.answer = value === "none" ? { chosen: null, none_fits: true } : { chosen: value, none_fits: false };
      this.paint();
      submitUnit();
    },
    key(key) {
      const labels = state.unit.labels;
      if (key === "0") this.pick("none");
      else if (/^[1-9]$/.test(key) && Number(key) <= labels.length) this.pick(labels[Number(key) - 1].id);
      else if (key === "Enter") submitUnit();
      else return false;
      return true;
    },
    undoKeys: ["u", "z", "Backspace"],
    missing() { return state.answer.chosen || state.answer.none_fits ? "" : "Choose a label first: its number, or 0 if none fits."; },
    fields() { return { chosen: state.answer.chosen, none_fits: state.answer.none_fits }; },
    fromUndo(data) { return data.answer; },
    review: reviewTogether,
  };

  function reviewTogether(a, thumbs) {
    const summary = document.createElement("span"); summary.className = "summary"; summary.textContent = a.summary;
    thumbs.append(summary);
    a.images.forEach((img) => {
      const t = document.createElement("span"); t.className = "thumb";
      const pic = document.createElement("img"); pic.src = img.url; pic.alt = ""; pic.width = 56; pic.height = 56;
      t.append(pic); thumbs.append(t);
    });
  }

  const question = { pair_yes_no: pairYesNo, label_rating: labelRating, best_of: bestOf }[root.dataset.question] || pairYesNo;
  if (question === labelRating) {
    document.querySelectorAll("#choices .choice").forEach((b) => b.addEventListener("click", () => labelRating.pick(b.dataset.value)));
  }
  if (question === bestOf) $("choice-none").addEventListener("click", () => bestOf.pick("none"));

  // --- submit, outbox, undo ------------------------------------------------------------------
  function submitUnit() {
    const unit = state.unit;
    if (!unit) return;
    const missing = question.missing(unit);
    if (missing) { say(missing, "error"); return; }
    const submission = Object.assign({
      client_id: newId(), neuron: unit.neuron,
      order_shown: unit.images.map((img) => img.id), ms_spent: Math.round(performance.now() - state.shownAt),
    }, question.fields());
    saveOutbox(outbox().concat([submission]));
    state.last = { submission, unit, answer: question.fields(), at: Date.now(), undone: false };
    state.unit = null;
    showNext(null);
    flush();
  }

  async function flush() {
    // A submit made while a flush is running (e.g. while it fetches the next unit) must not
    // wait for the next submit: remember it and flush again when this one ends.
    if (state.sending) { state.flushAgain = true; return; }
    state.sending = true;
    state.flushAgain = false;
    try {
      let items = outbox();
      while (items.length) {
        const item = items[0];
        // An undo of this item must wait for it: once posted it may be stored on the server,
        // so it has to be taken back there, not only dropped from the outbox.
        let settle;
        state.inFlight = { clientId: item.client_id, settled: new Promise((done) => { settle = done; }) };
        let result;
        try { result = await post(root.dataset.submitUrl, item); } catch (e) { result = { status: 0, data: {} }; }
        const answered = result.status === 200 || result.status === 409 || result.status === 400;
        if (answered) saveOutbox(outbox().filter((s) => s.client_id !== item.client_id));
        state.inFlight = null;
        settle();
        if (answered) {
          if (result.status !== 200) say("Not stored: " + (result.data.error || "rejected"), "error");
          items = outbox();
          state.retryMs = 1000;
        } else {
          say(result.status === 403
            ? `Your session has ended: log in again in another tab; ${items.length} answer(s) kept here, retrying…`
            : `Connection problem: ${items.length} answer(s) kept in this browser, retrying…`, "error");
          setTimeout(flush, state.retryMs);
          state.retryMs = Math.min(state.retryMs * 2, 30000);
          state.flushAgain = false;  // the timer retries everything queued, backing off
          return;
        }
      }
      say("All answers saved.", "ok");
      await fetchNext();
    } finally {
      state.sending = false;
      if (state.flushAgain) flush();
    }
  }

  async function undoLast() {
    const last = state.last;
    if (!last || last.undone || Date.now() - last.at > UNDO_MS) { say("Nothing to undo.", "error"); return; }
    if (state.inFlight && state.inFlight.clientId === last.submission.client_id) await state.inFlight.settled;
    const queued = outbox();
    if (queued.some((s) => s.client_id === last.submission.client_id)) {
      saveOutbox(queued.filter((s) => s.client_id !== last.submission.client_id));
    } else {
      const { status, data } = await post(root.dataset.undoUrl, { client_id: last.submission.client_id });
      if (status !== 200) { say(data.error || "Could not undo.", "error"); return; }
    }
    last.undone = true;
    if (state.unit) state.queue.unshift(state.unit);
    state.unit = last.unit;
    render(last.unit, last.answer);
    say(question === pairYesNo ? "Undone: change your answers and press Enter." : "Undone: answer again.", "ok");
  }

  function showProgress(p) {
    // x of N: the quota, or (with none) every unit of the study, each of which one may get once.
    const total = p.quota || Number(root.dataset.total) || 0;
    const units = total === 1 ? "unit" : "units";
    $("progress-fill").style.width = total ? Math.min(100, (100 * p.done) / total) + "%" : "0";
    $("progress-text").textContent = p.quota ? `${p.done} of ${total} ${units} · ${p.left} left` : `${p.done} of ${total} ${units} done`;
  }

  function finish(progress) {
    $("finished").hidden = false;
    if (progress.no_work_left) {
      $("finished").querySelector("h1").textContent = "No work left";
      $("finished-text").textContent = "All units of this study have the annotators they need, so there is nothing for you to do and no completion code. Please return the study on the platform you came from.";
    }
    if (progress.completion_code) { $("completion").hidden = false; $("completion-code").textContent = progress.completion_code; }
    if (progress.completion_url) { const back = $("completion-link"); back.href = progress.completion_url; back.hidden = false; }
  }

  // --- review: one's own recent answers, any changeable within the undo window ----------------
  async function openReview() {
    const response = await fetch(root.dataset.answersUrl, { credentials: "same-origin" });
    if (response.status !== 200) { say("Could not load your answers.", "error"); return; }
    const data = await response.json();
    $("undo-window").textContent = data.undo_seconds;
    const list = $("review-list");
    list.replaceChildren(...data.answers.map((a) => {
      const li = document.createElement("li");
      const head = document.createElement("div"); head.className = "review-head";
      const label = document.createElement("strong");
      label.textContent = a.label || a.labels.map((l) => l.label).join(" · ");
      const when = document.createElement("span"); when.className = "meta";
      when.textContent = new Date(a.stored).toLocaleTimeString();
      head.append(label, when);
      if (a.changeable) {
        const change = document.createElement("button");
        change.type = "button"; change.className = "link change"; change.textContent = "change";
        change.addEventListener("click", () => changeAnswer(a.client_id));
        head.append(change);
      }
      const thumbs = document.createElement("div"); thumbs.className = "review-thumbs";
      question.review(a, thumbs);
      li.append(head, thumbs);
      return li;
    }));
    if (!data.answers.length) list.replaceChildren(Object.assign(document.createElement("li"), { textContent: "No answers yet." }));
    $("review").hidden = false;
    $("review").scrollIntoView({ block: "nearest" });
  }

  async function changeAnswer(clientId) {
    const { status, data } = await post(root.dataset.undoUrl, { client_id: clientId });
    if (status !== 200) { say(data.error || "Could not change this answer.", "error"); return; }
    if (state.unit) state.queue.unshift(state.unit);
    state.unit = data.unit;
    if (state.last && state.last.submission.client_id === clientId) state.last.undone = true;
    $("review").hidden = true;
    render(data.unit, question.fromUndo(data));
    say(question === pairYesNo ? "Change your answers and press Enter." : "Answer again.", "ok");
  }

  $("review-open").addEventListener("click", openReview);
  $("review-close").addEventListener("click", () => { $("review").hidden = true; });

  // --- keyboard ------------------------------------------------------------------------------
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const help = $("help");
    if (event.key === "?") { help.open ? help.close() : help.showModal(); event.preventDefault(); return; }
    if (help.open) return;
    if (question.undoKeys.includes(event.key)) { undoLast(); event.preventDefault(); return; }
    if (event.key === "r") { $("review").hidden ? openReview() : ($("review").hidden = true); return; }
    if (!state.unit) return;
    if (!question.key(event.key)) return;
    event.preventDefault();
  });
  window.addEventListener("online", flush);

  if (outbox().length) flush(); else fetchNext();
})();
