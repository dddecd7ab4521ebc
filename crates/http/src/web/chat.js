// Streams the agent's answer (Server-Sent Events over fetch). Without JavaScript the form posts
// and the page shows the full answer instead.
(function () {
  var form = document.getElementById("ask");
  if (!form || !window.fetch || !window.TextDecoder) return;
  var log = document.getElementById("log");
  function line(who, text, cls) {
    var p = document.createElement("p");
    var b = document.createElement("strong");
    b.textContent = who + ": ";
    var s = document.createElement("span");
    s.style.whiteSpace = "pre-wrap";
    s.textContent = text || "";
    if (cls) p.className = cls;
    p.appendChild(b); p.appendChild(s); log.appendChild(p);
    return s;
  }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var box = document.getElementById("message");
    var text = box.value.trim();
    if (!text) return;
    box.value = "";
    line("You", text);
    var answer = line("Agent", "");
    var button = form.querySelector("button");
    button.disabled = true;
    fetch("/api/v1/agents/sessions/" + form.dataset.session + "/messages", {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": form.dataset.csrf },
      body: JSON.stringify({ content: text }),
      credentials: "same-origin"
    }).then(function (resp) {
      if (!resp.ok) return resp.json().then(function (e) { answer.textContent = e.error ? e.error.message : "The request failed."; });
      var reader = resp.body.getReader();
      var decoder = new TextDecoder();
      var buffer = "";
      function pump() {
        return reader.read().then(function (r) {
          if (r.done) return;
          buffer += decoder.decode(r.value, { stream: true });
          var parts = buffer.split("\n\n");
          buffer = parts.pop();
          parts.forEach(function (block) {
            var event = "", data = "";
            block.split("\n").forEach(function (l) {
              if (l.indexOf("event: ") === 0) event = l.slice(7);
              else if (l.indexOf("data: ") === 0) data += l.slice(6);
            });
            if (!event) return;
            var d = {};
            try { d = JSON.parse(data); } catch (e) { return; }
            if (event === "token") answer.textContent += d.text;
            else if (event === "tool_start") line("Tool", d.tool + " (" + d.agent + " agent)", "muted");
            else if (event === "approval_required") {
              var s = line("Approval needed", (d.preview && d.preview.summary) || d.action);
              var a = document.createElement("a"); a.href = "/approvals"; a.textContent = " open the inbox";
              s.appendChild(a);
            } else if (event === "error") answer.textContent = d.message;
          });
          return pump();
        });
      }
      return pump();
    }).catch(function () { answer.textContent = "The connection failed."; })
      .then(function () { button.disabled = false; box.focus(); });
  });
})();
