/* Requests: the create form (prescriber field, drag-and-drop) and the live chat.
   Messages arrive as HTML over the htmx ws extension (out-of-band appends to #message-list);
   when the socket is down (or the server says pushes are not working), a hidden poller asks
   for what the page lacks instead. Catch-up always names what the page holds: every message up
   to "complete through", and the ids above it; never just "after the highest id shown". */
(function () {
  "use strict";

  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    return Date.now().toString(16) + Math.random().toString(16).slice(2);
  }

  // Attach Documents: drag-and-drop onto the drop zone, and a list of the chosen files.
  function showFiles(input) {
    var fieldset = input.closest("[data-attachments]");
    var list = fieldset && fieldset.querySelector("[data-file-list]");
    if (!list) return;
    list.textContent = "";
    Array.prototype.forEach.call(input.files || [], function (file) {
      var item = document.createElement("li");
      item.textContent = file.name + " (" + Math.max(1, Math.round(file.size / 1024)) + " kB)";
      list.appendChild(item);
    });
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("[data-attachments] input[type=file]")) showFiles(target);
    if (target.matches && target.matches("[data-prescription-select]")) showPrescriber(target);
  });
  // Enter in the patient search runs the search at once instead of sending the whole form.
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key !== "Enter" || !target.matches || !target.matches("[data-patient-search]")) return;
    event.preventDefault();
    if (window.htmx) htmx.trigger(target, "search");
  });
  ["dragenter", "dragover"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var zone = event.target.closest && event.target.closest("[data-dropzone]");
      if (!zone) return;
      event.preventDefault();
      zone.classList.add("dropzone--over");
    });
  });
  document.addEventListener("dragleave", function (event) {
    var zone = event.target.closest && event.target.closest("[data-dropzone]");
    if (zone) zone.classList.remove("dropzone--over");
  });
  document.addEventListener("drop", function (event) {
    var zone = event.target.closest && event.target.closest("[data-dropzone]");
    if (!zone) return;
    event.preventDefault();
    zone.classList.remove("dropzone--over");
    var input = document.getElementById(zone.getAttribute("for"));
    if (input && event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });
  document.addEventListener("reset", function (event) {
    setTimeout(function () {
      event.target.querySelectorAll("[data-file-list]").forEach(function (l) { l.textContent = ""; });
      event.target.querySelectorAll("[data-attached-list]").forEach(function (l) { l.textContent = ""; });
      event.target.querySelectorAll("[data-attach-ok]").forEach(function (p) { p.textContent = ""; });
      var output = event.target.querySelector("[data-prescriber-output]");
      if (output) output.value = "";
    }, 0);
  });

  // The Upload Document pop-up: a title and one PDF, checked by the server ("CREATE NEW
  // DOCUMENT"), then added to the form's file input with its own title. Without JavaScript the
  // form's plain title and file fields are used instead.
  var upload = document.querySelector("[data-upload-dialog]");
  var attachments = document.querySelector("[data-attachments]");
  if (upload && attachments && window.DataTransfer && window.fetch) {
    var filesInput = attachments.querySelector("[data-documents-input]");
    var attachedList = attachments.querySelector("[data-attached-list]");
    var attachOk = attachments.querySelector("[data-attach-ok]");
    var titleInput = upload.querySelector("[data-upload-title]");
    var fileInput = upload.querySelector("[data-upload-file]");
    var fileName = upload.querySelector("[data-upload-name]");
    var uploadError = upload.querySelector("[data-upload-error]");
    var createButton = upload.querySelector("[data-upload-create]");
    attachments.querySelector("[data-attach-js]").hidden = false;
    attachments.querySelector("[data-attach-fallback]").hidden = true;

    var clearUpload = function () {
      titleInput.value = "";
      fileInput.value = "";
      fileName.textContent = "";
      uploadError.textContent = "";
      fileInput.removeAttribute("aria-invalid");
    };
    var setFiles = function (files) {
      var transfer = new DataTransfer();
      files.forEach(function (file) { transfer.items.add(file); });
      filesInput.files = transfer.files;
    };
    var attachedFiles = function () { return Array.prototype.slice.call(filesInput.files || []); };

    fileInput.addEventListener("change", function () {
      var file = fileInput.files && fileInput.files[0];
      fileName.textContent = file ? file.name : "";
      uploadError.textContent = "";
      fileInput.removeAttribute("aria-invalid");
      if (file && !titleInput.value) titleInput.value = file.name.replace(/\.pdf$/i, "");
    });
    upload.querySelector("[data-upload-clear]").addEventListener("click", function () {
      clearUpload();
      titleInput.focus();
    });
    createButton.addEventListener("click", function () {
      var file = fileInput.files && fileInput.files[0];
      if (!file) {
        uploadError.textContent = "Choose a PDF document to upload.";
        fileInput.setAttribute("aria-invalid", "true");
        return;
      }
      var total = attachedFiles().reduce(function (sum, f) { return sum + f.size; }, file.size);
      var maxTotal = parseInt(upload.getAttribute("data-max-total") || "0", 10);
      if (maxTotal && total > maxTotal) {
        uploadError.textContent = "The documents of one message may add up to " +
          Math.round(maxTotal / 1048576) + " MB: send this one in another message.";
        fileInput.setAttribute("aria-invalid", "true");
        return;
      }
      var body = new FormData();
      body.append("document", file);
      var token = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrftoken"];
      createButton.disabled = true;
      createButton.textContent = "CHECKING…";
      fetch(upload.getAttribute("data-check-url"), {
        method: "POST", credentials: "same-origin", body: body,
        headers: { "X-CSRFToken": token, "X-Requested-With": "fetch" },
      }).then(function (response) {
        return response.json().catch(function () { return { ok: false }; });
      }).then(function (result) {
        if (!result.ok) {
          uploadError.textContent = result.error || "The document could not be checked. Try again.";
          fileInput.setAttribute("aria-invalid", "true");
          return;
        }
        setFiles(attachedFiles().concat([file]));
        var title = titleInput.value.trim() || file.name.replace(/\.pdf$/i, "");
        var item = document.createElement("li");
        item.className = "attached";
        var hidden = document.createElement("input");
        hidden.type = "hidden";
        hidden.name = "document_titles";
        hidden.value = title;
        var label = document.createElement("span");
        label.className = "attached__name";
        label.textContent = title + " — " + file.name;
        var meta = document.createElement("span");
        meta.className = "muted";
        meta.textContent = result.summary || "";
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "btn btn--ghost btn--small";
        remove.setAttribute("aria-label", "Remove " + file.name);
        remove.textContent = "✕";
        item.append(hidden, label, " ", meta, remove);
        attachedList.appendChild(item);
        attachOk.textContent = "File successfully attached.";
        clearUpload();
        upload.close();
      }).catch(function () {
        uploadError.textContent = "The document could not be checked. Try again.";
      }).finally(function () {
        createButton.disabled = false;
        createButton.textContent = "CREATE NEW DOCUMENT";
      });
    });
    attachedList.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) return;
      var item = button.closest("li");
      // The list and the input hold the files in the same order.
      var index = Array.prototype.indexOf.call(attachedList.children, item);
      setFiles(attachedFiles().filter(function (file, i) { return i !== index; }));
      item.remove();
      attachOk.textContent = "Document removed.";
      attachments.querySelector("[data-upload-open]").focus();
    });
  }

  // Pharmacy users see the prescriber of the chosen prescription.
  function showPrescriber(select) {
    var output = document.querySelector("[data-prescriber-output]");
    if (!output) return;
    var option = select.options[select.selectedIndex];
    output.value = option ? option.getAttribute("data-prescriber") || "" : "";
  }

  // The chat ------------------------------------------------------------------------------
  var chat = document.querySelector("[data-chat]");
  var list = document.getElementById("message-list");

  // The PDF viewer: a <dialog> with an <iframe> of the access-checked document view.
  var viewer = document.getElementById("pdf-viewer");
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-pdf-view]");
    if (!link || !viewer || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    viewer.querySelector("[data-pdf-title]").textContent = link.getAttribute("data-title") || "Document";
    viewer.querySelector("[data-pdf-open]").setAttribute("href", link.href);
    viewer.querySelector("[data-pdf-frame]").setAttribute("src", link.href);
    viewer.showModal();
  });
  if (viewer) {
    viewer.addEventListener("close", function () {
      viewer.querySelector("[data-pdf-frame]").setAttribute("src", "about:blank");
    });
  }

  if (!chat || !list) return;
  var scroller = chat.querySelector("[data-chat-scroll]");
  var status = chat.querySelector("[data-chat-status]");
  var userId = chat.getAttribute("data-user-id");
  var live = false;

  function lastId() { return parseInt(list.getAttribute("data-last-id") || "0", 10); }

  // The page holds every message up to this id (the render, then the server's word after each
  // catch-up); above it, exactly the rows it shows (its own replies, pushed rows).
  var completeThrough = lastId();
  var HAVE_LIMIT = 500;
  function held() {
    var ids = [];
    chat.querySelectorAll("li[data-message-id]").forEach(function (row) {
      var id = parseInt(row.getAttribute("data-message-id"), 10);
      if (id > completeThrough) ids.push(id);
    });
    ids.sort(function (a, b) { return a - b; });
    return ids.slice(-HAVE_LIMIT);
  }
  // Messages' sockets carry every thread of a chart or clinic: the page names the one it shows.
  var threadId = parseInt(chat.getAttribute("data-thread-id") || "0", 10);
  function holding(type) {
    var frame = { type: type, after: completeThrough, have: held() };
    if (threadId) frame.thread = threadId;
    return frame;
  }

  // Rows can arrive twice (the POST answer and the socket) or out of order (catch-up):
  // keep one row per message id, in id order, and remember the highest id seen.
  var firstTidy = true;
  function tidy() {
    var seen = {};
    var before = lastId();
    var rows = Array.prototype.slice.call(list.querySelectorAll(":scope > li[data-message-id]"));
    rows.forEach(function (row) {
      var id = row.getAttribute("data-message-id");
      if (seen[id]) { row.remove(); return; }
      seen[id] = true;
    });
    // Rows are rendered once for everyone: "mine" is marked here (earlier ones included).
    chat.querySelectorAll("li[data-message-id]").forEach(function (row) {
      if (row.getAttribute("data-author-id") === userId) row.classList.add("message--mine");
    });
    rows = Array.prototype.slice.call(list.querySelectorAll(":scope > li[data-message-id]"));
    var sorted = rows.slice().sort(function (a, b) {
      return a.getAttribute("data-message-id") - b.getAttribute("data-message-id");
    });
    if (sorted.some(function (row, i) { return row !== rows[i]; })) {
      sorted.forEach(function (row) { list.appendChild(row); });
    }
    var max = lastId();
    sorted.forEach(function (row) { max = Math.max(max, parseInt(row.getAttribute("data-message-id"), 10)); });
    list.setAttribute("data-last-id", String(max));
    addDocuments();
    readSync();
    // To the newest message on opening and when one arrives; not when history is loaded above.
    if (firstTidy || max > before) scroller.scrollTop = scroller.scrollHeight;
    firstTidy = false;
  }
  // Documents that arrive in the chat also join the Documents table.
  function addDocuments() {
    var table = document.querySelector("[data-documents-table]");
    if (!table) return;
    var body = table.querySelector("tbody");
    list.querySelectorAll("a[data-document-id]").forEach(function (link) {
      var id = link.getAttribute("data-document-id");
      if (body.querySelector('tr[data-document-id="' + id + '"]')) return;
      var row = document.createElement("tr");
      row.setAttribute("data-document-id", id);
      var author = link.closest("li").querySelector(".message__author");
      var cells = [
        ["Title", null],
        ["Uploaded by", author ? author.textContent : ""],
        ["Date", "date"],
        ["Pages", link.getAttribute("data-pages")],
      ];
      cells.forEach(function (cell) {
        var td = document.createElement("td");
        td.setAttribute("data-label", cell[0]);
        if (cell[1] === "date") {
          // The day on the reader's clock, as the server-rendered rows (portal.js localises it).
          var when = document.createElement("time");
          when.setAttribute("datetime", link.getAttribute("data-created"));
          when.setAttribute("data-local", "date");
          when.textContent = link.getAttribute("data-date");
          td.appendChild(when);
        } else if (cell[1] === null) {
          var a = document.createElement("a");
          a.href = link.getAttribute("href");
          a.setAttribute("data-pdf-view", "");
          a.setAttribute("data-title", link.getAttribute("data-title"));
          a.textContent = link.getAttribute("data-title");
          td.appendChild(a);
        } else {
          td.textContent = cell[1];
        }
        row.appendChild(td);
      });
      body.appendChild(row);
      if (window.portalLocalTimes) window.portalLocalTimes(row);
      table.hidden = false;
      var empty = document.querySelector("[data-documents-empty]");
      if (empty) empty.remove();
    });
  }

  // A reader at the newest message stays there when the log changes size (a rotated phone, a
  // wider window); one who scrolled up to read older messages keeps their place.
  var pinned = true;
  scroller.addEventListener("scroll", function () {
    pinned = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 24;
  });
  if (window.ResizeObserver) {
    new ResizeObserver(function () {
      if (pinned) scroller.scrollTop = scroller.scrollHeight;
    }).observe(scroller);
  }

  // "Show earlier messages": the batch goes above, what the reader was looking at stays put,
  // and the keyboard focus moves on to the next such link (or the messages, at the start).
  var fromBottom = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "earlier-list") {
      fromBottom = scroller.scrollHeight - scroller.scrollTop;
    }
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    if (fromBottom === null || !event.detail.target || event.detail.target.id !== "earlier-list") return;
    scroller.scrollTop = scroller.scrollHeight - fromBottom;
    fromBottom = null;
    var next = chat.querySelector("[data-earlier]");
    (next || scroller).focus();
  });

  tidy();
  document.addEventListener("htmx:afterSettle", tidy);
  document.addEventListener("htmx:oobAfterSwap", tidy);
  document.addEventListener("htmx:wsAfterMessage", tidy);

  function setStatus(text, ok) {
    status.textContent = text;
    status.classList.toggle("chat__status--live", !!ok);
  }
  var POLLING = "checking for new messages every few seconds";
  // The server's bookkeeping element (#chat-sync, swapped in by the socket and the poller):
  // "you now hold every message up to N", and (from the socket only) whether live pushes work
  // right now. The page says "Live" on that word alone — never merely because a socket opened
  // (a socket the server closes at once, 4503, opens first) — and each word is read once, so
  // that a stale one left in the page by an earlier socket cannot speak for a new one.
  var pushesWork = null;  // unknown until this socket's server says
  function readSync() {
    var sync = document.getElementById("chat-sync");
    if (!sync) return;
    var through = parseInt(sync.getAttribute("data-complete-through") || "0", 10);
    if (through > completeThrough) completeThrough = through;
    if (!sync.hasAttribute("data-live")) return;
    var works = sync.getAttribute("data-live") === "1";
    sync.removeAttribute("data-live");
    if (works === pushesWork || !socket) return;
    var wasDown = pushesWork === false;
    pushesWork = works;
    live = works;  // while pushes do not work the poller runs, socket or not
    setStatus(works ? "Live" : "Live updates interrupted; " + POLLING, works);
    // Back from an outage: whatever was pushed meanwhile (and not yet polled) comes now.
    if (works && wasDown) socket.send(JSON.stringify(holding("catch_up")), chat);
  }
  // "<name> is typing…": this page says so at most every few seconds while its user types; the
  // line the server pushes for someone else fades after a few seconds or with their message.
  var socket = null;
  var typingSentAt = 0;
  var typingTimer = null;
  document.addEventListener("input", function (event) {
    if (!socket || !event.target.matches || !event.target.matches("[data-chat-input]")) return;
    if (!event.target.value.trim() || Date.now() - typingSentAt < 2500) return;
    typingSentAt = Date.now();
    socket.send(JSON.stringify({ type: "typing" }), chat);
  });
  function clearTyping() {
    var line = document.getElementById("chat-typing");
    if (line) line.textContent = "";
  }
  chat.addEventListener("htmx:wsAfterMessage", function (event) {
    var text = event.detail.message || "";
    if (text.indexOf('id="chat-typing"') !== -1) {
      clearTimeout(typingTimer);
      typingTimer = setTimeout(clearTyping, 4000);
    } else if (text.indexOf('id="message-') !== -1) {
      clearTimeout(typingTimer);
      clearTyping();
    }
  });

  // "Here now": while the socket is open the page says it is still here every 25 seconds; the
  // server forgets a page that has been silent for 75 (see PRESENCE_* in consumers.py).
  var beat = null;
  chat.addEventListener("htmx:wsOpen", function (event) {
    live = true;
    socket = event.detail.socketWrapper;
    clearInterval(beat);
    // The beat also says what the page holds: a push it missed comes with the answer.
    beat = setInterval(function () {
      if (socket) socket.send(JSON.stringify(holding("here")), chat);
    }, 25000);
    pushesWork = null;
    // Whatever arrived while we were away (or between page render and now); the answer also
    // says whether pushes work, and only then does the page say "Live".
    event.detail.socketWrapper.send(JSON.stringify(holding("catch_up")), chat);
  });
  // Close codes of portal/consumers.py.
  var CLOSED_BECAUSE = {
    4403: chat.getAttribute("data-lost-access") || "You no longer have access to this request; reload the page",
    4429: "Disconnected (too many messages from this page); " + POLLING,
    // The channel layer (Redis) is down: portal.js reconnects with back-off meanwhile.
    4503: "Live updates unavailable; " + POLLING,
  };
  chat.addEventListener("htmx:wsClose", function (event) {
    var code = event.detail.event && event.detail.event.code;
    // 4401: the session ended (signed out here or elsewhere, or the password changed).
    if (code === 4401) {
      window.location.assign("/accounts/login/");
      return;
    }
    live = false;
    socket = null;
    pushesWork = null;
    clearInterval(beat);
    var presence = document.getElementById("chat-presence");
    if (presence) presence.textContent = "";  // unknown until the socket is back
    setStatus(CLOSED_BECAUSE[code] || "Reconnecting… " + POLLING, false);
  });
  chat.addEventListener("htmx:wsError", function () { live = false; });

  // The polling fallback runs only while the socket is down.
  document.addEventListener("htmx:configRequest", function (event) {
    if (!event.detail.elt.hasAttribute("data-chat-poll")) return;
    if (live) { event.preventDefault(); return; }
    event.detail.parameters.after = completeThrough;
    event.detail.parameters.have = held().join(",");
  });

  // The send form: a fresh client id after each stored message (a retry reuses the old one).
  var form = document.getElementById("message-form");
  if (form) {
    form.addEventListener("htmx:afterRequest", function (event) {
      if (event.detail.elt !== form || !event.detail.successful) return;
      if (event.detail.xhr.getResponseHeader("HX-Retarget")) return;  // validation errors
      form.reset();
      var errors = document.getElementById("message-form-errors");
      if (errors) { errors.textContent = ""; errors.className = ""; }
      form.querySelector("[name=client_id]").value = newClientId();
      var attach = form.querySelector("details");
      if (attach) attach.open = false;
    });
    form.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
  }
})();
