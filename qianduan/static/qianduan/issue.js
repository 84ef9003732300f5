// The issuing form: item rows, fee-item suggestions and keyboard shortcuts.
// Amounts, totals and every rule are computed on the server (the live check); this
// script only moves the cursor and fills in what the cashier picked.
(function () {
  "use strict";
  var form = document.getElementById("issue-form");
  if (!form) { return; }
  var body = document.getElementById("line-body");
  var template = document.getElementById("line-template");

  function changed() { form.dispatchEvent(new Event("line-changed")); }
  function rows() { return Array.prototype.slice.call(body.querySelectorAll("tr.line")); }

  function addLine(focus) {
    var row = template.content.firstElementChild.cloneNode(true);
    body.appendChild(row);
    if (window.htmx) { window.htmx.process(row); }
    if (focus) { row.querySelector(".item-search").focus(); }
    return row;
  }

  function closeSuggestions(row) {
    var box = row.querySelector(".suggest");
    if (box) { box.innerHTML = ""; }
  }

  function pick(row, option) {
    var d = option.dataset;
    row.querySelector(".item-code").value = d.code;
    row.querySelector(".item-search").value = d.code + " " + d.name;
    row.querySelector(".item-uom").textContent = d.uom || "";
    var std = row.querySelector("input[name=item_std]");
    std.value = d.std || "";
    std.readOnly = d.mode === "fixed";
    row.querySelector(".item-range").textContent = d.range || "";
    closeSuggestions(row);
    (d.mode === "fixed" ? row.querySelector("input[name=item_qty]") : std).focus();
    changed();
  }

  function queryOf(row) { return row.querySelector(".item-search").value.split(" ")[0]; }

  // Enter picks the first suggestion for what is typed now, never a stale list for a shorter prefix.
  function pickFirstFresh(row) {
    var list = row.querySelector("[data-query]");
    if (list && list.dataset.query === queryOf(row)) {
      var first = row.querySelector(".suggestion");
      if (first) { pick(row, first); }
      return;
    }
    row.dataset.pickFirst = "1";
    var search = row.querySelector(".item-search");
    window.htmx.ajax("GET", search.getAttribute("hx-get"), {
      target: row.querySelector(".suggest"), swap: "innerHTML",
      values: { kind: document.getElementById("f-kind").value, q: queryOf(row) }
    });
  }

  body.addEventListener("click", function (event) {
    var option = event.target.closest(".suggestion");
    if (option) { pick(option.closest("tr"), option); return; }
    if (event.target.closest(".remove-line")) {
      var row = event.target.closest("tr");
      if (rows().length > 1) { row.remove(); } else {
        row.querySelectorAll("input").forEach(function (input) { input.value = input.name === "item_qty" ? "1" : ""; });
        row.querySelector(".item-uom").textContent = "";
        row.querySelector(".item-amount").textContent = "";
      }
      changed();
    }
  });

  body.addEventListener("input", function (event) {
    if (!event.target.classList.contains("item-search")) { return; }
    var row = event.target.closest("tr");
    var hidden = row.querySelector(".item-code");
    if (hidden.value && event.target.value.split(" ")[0] !== hidden.value) { hidden.value = ""; }
  });

  body.addEventListener("keydown", function (event) {
    var row = event.target.closest("tr");
    if (!row) { return; }
    var options = Array.prototype.slice.call(row.querySelectorAll(".suggestion"));
    if (event.target.classList.contains("item-search")) {
      if (event.key === "ArrowDown" && options.length) { event.preventDefault(); options[0].focus(); }
      else if (event.key === "Enter") { event.preventDefault(); pickFirstFresh(row); }
      else if (event.key === "Escape") { closeSuggestions(row); }
    } else if (event.target.classList.contains("suggestion")) {
      var i = options.indexOf(event.target);
      if (event.key === "ArrowDown" && i < options.length - 1) { event.preventDefault(); options[i + 1].focus(); }
      else if (event.key === "ArrowUp") { event.preventDefault(); (i > 0 ? options[i - 1] : row.querySelector(".item-search")).focus(); }
      else if (event.key === "Escape") { closeSuggestions(row); row.querySelector(".item-search").focus(); }
    } else if (event.key === "Enter" && event.target.tagName === "INPUT") {
      // Enter in a quantity or remark moves on to a new row instead of submitting.
      event.preventDefault();
      var all = rows();
      var next = all[all.indexOf(row) + 1] || addLine(false);
      next.querySelector(".item-search").focus();
    }
  });

  // Only the row being worked on shows suggestions.
  document.addEventListener("focusin", function (event) {
    var current = event.target.closest ? event.target.closest("tr.line") : null;
    rows().forEach(function (row) { if (row !== current) { closeSuggestions(row); } });
  });

  document.addEventListener("click", function (event) {
    if (!event.target.closest(".suggest") && !event.target.classList.contains("item-search")) {
      rows().forEach(closeSuggestions);
    }
  });

  document.getElementById("add-line").addEventListener("click", function () { addLine(true); });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey && event.key === "Enter") { event.preventDefault(); document.getElementById("btn-issue").click(); }
    else if (event.altKey && (event.key === "a" || event.key === "A")) { event.preventDefault(); addLine(true); }
  });

  var kind = document.getElementById("f-kind");
  kind.addEventListener("change", function () {
    window.location.href = kind.dataset.reloadUrl + "?kind=" + encodeURIComponent(kind.value);
  });

  // After each live check, show the server's amount on its row; after fresh suggestions,
  // finish a pending Enter.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target.classList && target.classList.contains("suggest")) {
      var row = target.closest("tr");
      var list = target.querySelector("[data-query]");
      if (row && row.dataset.pickFirst && list && list.dataset.query === queryOf(row)) {
        delete row.dataset.pickFirst;
        var first = target.querySelector(".suggestion");
        if (first) { pick(row, first); }
      }
      return;
    }
    if (target.id !== "summary") { return; }
    var all = rows();
    event.detail.target.querySelectorAll(".line-amount").forEach(function (span) {
      var row = all[parseInt(span.dataset.index, 10)];
      if (row) { row.querySelector(".item-amount").textContent = span.textContent; }
    });
  });
})();
